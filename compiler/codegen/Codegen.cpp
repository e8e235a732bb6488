//===- Codegen.cpp - Assembling a plan from a graph-dialect step ----------===//
//
// compileToPlan runs kiln-fuse and kiln-emit-kernels on a copy of the module,
// then walks func @step and every other program function (such as @eval),
// each once, in order. Interface ops (inputs, variables, reads, constants,
// reshapes) become buffers; each call of a kernel function becomes a dispatch
// of the gpu.module kiln-emit-kernels emitted for it, compiled for every target
// (compiler/targets, all kernels at once in KernelCompiler), its results fresh transient buffers;
// outputs name buffers (copying into a fresh output buffer when the value lives in an input,
// variable, constant or another output's buffer); assigns become copies at the end of the step. A
// hazard tracker places the barriers. The memory planner (compiler/memory) then elides the assign
// copies it can, packs the transients into one arena and places the barriers again by bytes. Only
// vectors and lookups keyed by values drive the output, so the plan is
// byte-for-byte deterministic.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Codegen.h"

#include "KernelCompiler.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Kernels/KernelEmitter.h"
#include "kiln/Memory/MemoryPlanner.h"
#include "kiln/Targets/KernelTargets.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/Sha256.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

using namespace mlir;

namespace kiln::codegen {
namespace {

using kernels::EmittedKernel;

/// Every buffer element is 32 bits wide (kiln/Kernels/KernelEmitter.h), i1 masks included.
constexpr uint64_t kElementBytes = 4;
/// The smallest maxStorageBufferRange Kiln targets (lavapipe's).
constexpr uint64_t kMaxBufferBytes = uint64_t{128} << 20;

/// "file:line:col" of the first file location inside `loc`, else its printed form.
std::string describeLocation(Location loc) {
  std::string text;
  loc->walk([&](Location inner) {
    if (auto file = llvm::dyn_cast<FileLineColLoc>(inner)) {
      text = (file.getFilename().str() + ":" + std::to_string(file.getLine()) + ":" +
              std::to_string(file.getColumn()));
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (text.empty()) {
    llvm::raw_string_ostream os(text);
    loc.print(os);
  }
  return text;
}

void appendWordsLittleEndian(std::string &bytes, llvm::ArrayRef<uint32_t> words) {
  for (uint32_t word : words)
    for (int shift = 0; shift < 32; shift += 8)
      bytes.push_back(static_cast<char>((word >> shift) & 0xff));
}

/// Element i of a float, i32 or i1 constant as the 32-bit word a kernel reads.
FailureOr<std::vector<uint32_t>> elementWords(ElementsAttr attr) {
  std::vector<uint32_t> words;
  words.reserve(attr.getNumElements());
  Type elementType = attr.getElementType();
  if (elementType.isF32()) {
    auto values = attr.tryGetValues<APFloat>();
    if (!values)
      return failure();
    for (APFloat value : *values)
      words.push_back(static_cast<uint32_t>(value.bitcastToAPInt().getZExtValue()));
    return words;
  }
  if (elementType.isInteger(32) || elementType.isInteger(1)) {
    auto values = attr.tryGetValues<APInt>();
    if (!values)
      return failure();
    for (APInt value : *values)
      words.push_back(static_cast<uint32_t>(value.getZExtValue()));
    return words;
  }
  return failure();
}

/// Bytes of the buffer holding a `count`-element i1 mask the host's way: one byte each,
/// rounded up to whole 32-bit words.
uint64_t hostMaskBytes(int64_t count) { return (static_cast<uint64_t>(count) + 3) / 4 * 4; }

/// `attr` as the host lays it out: f32 and i32 four bytes each, i1 one byte each.
FailureOr<std::string> hostBytesOf(ElementsAttr attr) {
  FailureOr<std::vector<uint32_t>> words = elementWords(attr);
  if (failed(words))
    return failure();
  std::string bytes;
  if (attr.getElementType().isInteger(1)) {
    for (uint32_t word : *words)
      bytes.push_back(static_cast<char>(word));
    return bytes;
  }
  appendWordsLittleEndian(bytes, *words);
  return bytes;
}

/// Records which buffers were read and written since the last barrier, and
/// says when a command must wait: it touches a buffer written since, or it
/// writes a buffer read since (RAW, WAW and WAR hazards).
class HazardTracker {
public:
  bool needsBarrier(llvm::ArrayRef<uint32_t> reads, llvm::ArrayRef<uint32_t> writes) const {
    for (uint32_t buffer : reads)
      if (contains(written_, buffer))
        return true;
    for (uint32_t buffer : writes)
      if (contains(written_, buffer) || contains(read_, buffer))
        return true;
    return false;
  }
  void clear() {
    read_.assign(read_.size(), false);
    written_.assign(written_.size(), false);
  }
  void record(llvm::ArrayRef<uint32_t> reads, llvm::ArrayRef<uint32_t> writes) {
    for (uint32_t buffer : reads)
      mark(read_, buffer);
    for (uint32_t buffer : writes)
      mark(written_, buffer);
  }

private:
  static bool contains(const std::vector<bool> &set, uint32_t buffer) {
    return buffer < set.size() && set[buffer];
  }
  static void mark(std::vector<bool> &set, uint32_t buffer) {
    if (buffer >= set.size())
      set.resize(buffer + 1, false);
    set[buffer] = true;
  }
  std::vector<bool> read_, written_;
};

/// What assembling one program (func @step, or another function such as @eval) tracks.
struct ProgramState {
  plan::Step *step = nullptr;
  HazardTracker hazards;
  llvm::DenseMap<Value, uint32_t> bufferOf;
  /// The buffer the kernels read for each input name (for i1 inputs, the unpacked words).
  llvm::StringMap<uint32_t> inputValueBuffer;
  std::vector<graph::AssignOp> assigns;
};

class PlanAssembler {
public:
  PlanAssembler(ModuleOp module, ModuleOp source, const CodegenOptions &options)
      : module_(module), source_(source), options_(options), kernelCompiler_(options.targets) {}

  FailureOr<plan::Plan> assemble();

private:
  LogicalResult addVariables();
  /// Compiles `function` into `step`, named `name`.
  LogicalResult addProgram(func::FuncOp function, plan::Step *step, llvm::StringRef name);
  LogicalResult addStepOp(Operation *op);
  LogicalResult addInput(graph::InputOp op);
  LogicalResult addConstant(graph::ConstantOp op);
  LogicalResult addKernelCall(func::CallOp call);
  /// Adds `kernel`, compiled for every target, as plan kernel `name`.
  FailureOr<uint32_t> addKernel(llvm::StringRef name, const EmittedKernel &kernel, Operation *where,
                                unsigned outputCount, unsigned bindingCount);
  /// Appends a dispatch converting an i1 mask between host bytes and kernel words.
  LogicalResult addMaskConversion(Operation *op, int64_t count, bool pack, uint32_t destination,
                                  uint32_t source);
  /// The plan kernel compiled from kernel function `callee` (compiled on first use).
  FailureOr<uint32_t> kernelFor(func::FuncOp callee, const EmittedKernel *&emitted);
  /// Names `value` as output `name` (for graph.output or graph.gradient `op`).
  LogicalResult addOutput(Operation *op, std::string name, Value value);
  LogicalResult addAssigns();
  void addMetadata();

  /// Checks that `type` fits one buffer; the error is reported at `op`.
  FailureOr<uint64_t> bufferBytes(Operation *op, Type type, llvm::StringRef what);
  LogicalResult checkVariableType(graph::VariableOp variable);
  uint32_t addBuffer(std::string name, uint64_t sizeBytes, plan::BufferRole role);
  plan::TensorSpec tensorSpec(std::string name, RankedTensorType type, uint32_t buffer);

  /// Appends a command that reads `reads` and writes `writes`, after a barrier if needed.
  plan::Command &addCommand(llvm::ArrayRef<uint32_t> reads, llvm::ArrayRef<uint32_t> writes);
  void addCopy(uint32_t source, uint32_t destination, uint64_t sizeBytes);

  ModuleOp module_;
  /// The module as given, before kernel formation (recorded in the plan).
  ModuleOp source_;
  const CodegenOptions &options_;
  /// Plan kernel index and emitted code of each kernel function compiled so far.
  struct CompiledKernel {
    CompiledKernel(uint32_t index, EmittedKernel code) : first(index), second(std::move(code)) {}
    uint32_t first;
    EmittedKernel second;
  };
  llvm::StringMap<CompiledKernel> kernelOfCallee_;
  /// Makes every kernel's SPIR-V and PTX once the programs are assembled.
  KernelCompiler kernelCompiler_;
  plan::Plan plan_;
  /// The program being compiled.
  ProgramState program_;
  llvm::StringMap<uint32_t> variableBuffer_;
  /// Index in plan_.inputs of each input name; programs share inputs.
  llvm::StringMap<uint32_t> inputIndex_;
};

FailureOr<uint64_t> PlanAssembler::bufferBytes(Operation *op, Type type, llvm::StringRef what) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  uint64_t elements = static_cast<uint64_t>(tensor.getNumElements());
  if (elements == 0)
    return op->emitOpError("cannot be compiled for the Vulkan target: ")
           << what << " " << tensor << " has no elements, and Vulkan buffers cannot be empty";
  if (elements > kMaxBufferBytes / kElementBytes)
    return op->emitOpError("cannot be compiled for the Vulkan target: ")
           << what << " " << tensor << " needs " << elements * kElementBytes
           << " bytes, more than the 128 MiB a Vulkan storage buffer is guaranteed to hold"
           << " here; split the tensor or shrink the batch";
  return elements * kElementBytes;
}

LogicalResult PlanAssembler::checkVariableType(graph::VariableOp variable) {
  if (!variable.getTensorType().getElementType().isInteger(1))
    return success();
  return variable.emitOpError("cannot be compiled for the Vulkan target: i1 variables are not "
                              "supported (the host stores masks one byte each, kernels one "
                              "word each); store the mask as an f32 variable of 0 and 1");
}

uint32_t PlanAssembler::addBuffer(std::string name, uint64_t sizeBytes, plan::BufferRole role) {
  plan::Buffer *buffer = plan_.add_buffers();
  buffer->set_name(std::move(name));
  buffer->set_size_bytes(sizeBytes);
  buffer->set_role(role);
  return static_cast<uint32_t>(plan_.buffers_size() - 1);
}

plan::TensorSpec PlanAssembler::tensorSpec(std::string name, RankedTensorType type,
                                           uint32_t buffer) {
  plan::TensorSpec spec;
  spec.set_name(std::move(name));
  Type element = type.getElementType();
  spec.set_dtype(element.isF32()         ? plan::DTYPE_F32
                 : element.isInteger(32) ? plan::DTYPE_I32
                                         : plan::DTYPE_I1);
  for (int64_t extent : type.getShape())
    spec.add_shape(extent);
  spec.set_buffer(buffer);
  return spec;
}

plan::Command &PlanAssembler::addCommand(llvm::ArrayRef<uint32_t> reads,
                                         llvm::ArrayRef<uint32_t> writes) {
  if (program_.hazards.needsBarrier(reads, writes)) {
    program_.step->add_commands()->mutable_barrier();
    program_.hazards.clear();
  }
  program_.hazards.record(reads, writes);
  return *program_.step->add_commands();
}

void PlanAssembler::addCopy(uint32_t source, uint32_t destination, uint64_t sizeBytes) {
  plan::Copy *copy = addCommand({source}, {destination}).mutable_copy();
  copy->set_src_buffer(source);
  copy->set_dst_buffer(destination);
  copy->set_size_bytes(sizeBytes);
}

LogicalResult PlanAssembler::addVariables() {
  for (auto variable : module_.getOps<graph::VariableOp>()) {
    RankedTensorType type = variable.getTensorType();
    FailureOr<uint64_t> bytes = bufferBytes(variable, type, "the variable");
    if (failed(bytes) || failed(checkVariableType(variable)))
      return failure();
    std::string name = variable.getSymName().str();
    uint32_t buffer = addBuffer(name, *bytes, plan::BUFFER_ROLE_VARIABLE);
    variableBuffer_[name] = buffer;

    plan::Variable *entry = plan_.add_variables();
    *entry->mutable_tensor() = tensorSpec(name, type, buffer);
    entry->set_trainable(variable.getTrainable());
    graph::InitializerAttr init = variable.getInit();
    plan::Initializer *initializer = entry->mutable_initializer();
    switch (init.getDistribution()) {
    case graph::Distribution::constant:
      initializer->set_distribution(plan::Initializer::DISTRIBUTION_CONSTANT);
      break;
    case graph::Distribution::uniform:
      initializer->set_distribution(plan::Initializer::DISTRIBUTION_UNIFORM);
      break;
    case graph::Distribution::normal:
      initializer->set_distribution(plan::Initializer::DISTRIBUTION_NORMAL);
      break;
    }
    initializer->set_a(init.getFirst());
    initializer->set_b(init.getSecond());
    initializer->set_seed(init.getSeed());
    initializer->set_stream(init.getStream());
  }
  return success();
}

LogicalResult PlanAssembler::addInput(graph::InputOp op) {
  auto type = llvm::cast<RankedTensorType>(op.getType());
  std::string name = op.getName().str();
  auto index = inputIndex_.find(name);
  if (index != inputIndex_.end()) {
    const plan::TensorSpec &known = plan_.inputs(index->second).tensor();
    if (tensorSpec(name, type, known.buffer()).SerializeAsString() != known.SerializeAsString())
      return op.emitOpError("reads input '")
             << name << "' as " << type << " but an earlier graph.input of that name reads it "
             << "as another type";
    if (auto seen = program_.inputValueBuffer.find(name); seen != program_.inputValueBuffer.end()) {
      program_.bufferOf[op.getResult()] = seen->second;
      return success();
    }
  }
  FailureOr<uint64_t> bytes = bufferBytes(op, type, "the input");
  if (failed(bytes))
    return failure();
  bool mask = type.getElementType().isInteger(1);
  if (index == inputIndex_.end()) {
    uint64_t hostBytes = mask ? hostMaskBytes(type.getNumElements()) : *bytes;
    uint32_t buffer = addBuffer(name, hostBytes, plan::BUFFER_ROLE_INPUT);
    plan::Input *input = plan_.add_inputs();
    *input->mutable_tensor() = tensorSpec(name, type, buffer);
    if (std::optional<ElementsAttr> value = op.getDefaultValue()) {
      FailureOr<std::string> encoded = hostBytesOf(*value);
      if (failed(encoded))
        return op.emitOpError("has a default value the Vulkan target cannot encode: ") << *value;
      *input->mutable_default_value() = *std::move(encoded);
    }
    index = inputIndex_.insert({name, static_cast<uint32_t>(plan_.inputs_size() - 1)}).first;
  }
  program_.step->add_inputs(index->second);
  uint32_t buffer = plan_.inputs(index->second).tensor().buffer();
  if (mask) {
    uint32_t words = addBuffer(name + ".words", *bytes, plan::BUFFER_ROLE_TRANSIENT);
    if (failed(addMaskConversion(op, type.getNumElements(), /*pack=*/false, words, buffer)))
      return failure();
    buffer = words;
  }
  program_.inputValueBuffer[name] = buffer;
  program_.bufferOf[op.getResult()] = buffer;
  return success();
}

LogicalResult PlanAssembler::addConstant(graph::ConstantOp op) {
  FailureOr<uint64_t> bytes = bufferBytes(op, op.getType(), "the constant");
  if (failed(bytes))
    return failure();
  FailureOr<std::vector<uint32_t>> words = elementWords(op.getValue());
  if (failed(words))
    return op.emitOpError("has a value the Vulkan target cannot encode: ") << op.getValue();
  uint32_t buffer = addBuffer("constant." + std::to_string(plan_.buffers_size()), *bytes,
                              plan::BUFFER_ROLE_CONSTANT);
  appendWordsLittleEndian(*plan_.mutable_buffers(buffer)->mutable_constant_data(), *words);
  program_.bufferOf[op.getResult()] = buffer;
  return success();
}

FailureOr<uint32_t> PlanAssembler::addKernel(llvm::StringRef name, const EmittedKernel &kernel,
                                             Operation *where, unsigned outputCount,
                                             unsigned bindingCount) {
  plan::Kernel *entry = plan_.add_kernels();
  entry->set_name(name.str());
  entry->set_entry_point(name.str());
  // The target code is made for all kernels at once, in parallel (assemble()).
  kernelCompiler_.add(static_cast<uint32_t>(plan_.kernels_size() - 1), name, kernel.gpuModule,
                      where);
  entry->mutable_workgroup_size()->set_x(kernel.workgroupSize[0]);
  entry->mutable_workgroup_size()->set_y(kernel.workgroupSize[1]);
  entry->mutable_workgroup_size()->set_z(kernel.workgroupSize[2]);
  entry->set_binding_count(bindingCount);
  entry->set_output_bindings(outputCount);
  for (auto [output, input] : kernel.inPlace) {
    plan::InPlacePair *pair = entry->add_in_place();
    pair->set_output_binding(output);
    pair->set_input_binding(input);
  }
  return static_cast<uint32_t>(plan_.kernels_size() - 1);
}

FailureOr<uint32_t> PlanAssembler::kernelFor(func::FuncOp callee, const EmittedKernel *&emitted) {
  auto known = kernelOfCallee_.find(callee.getSymName());
  if (known != kernelOfCallee_.end()) {
    emitted = &known->second.second;
    return known->second.first;
  }
  auto gpuModule =
      module_.lookupSymbol<gpu::GPUModuleOp>(kernels::gpuModuleName(callee.getSymName()));
  if (!gpuModule)
    return callee.emitOpError("internal compiler error: kiln-emit-kernels left no gpu.module ")
           << "for this kernel";
  FailureOr<EmittedKernel> kernel = kernels::takeEmittedKernel(gpuModule);
  if (failed(kernel))
    return failure();
  FailureOr<uint32_t> index =
      addKernel(callee.getSymName(), *kernel, callee, callee.getNumResults(),
                callee.getNumResults() + callee.getNumArguments());
  if (failed(index))
    return failure();
  plan::Kernel *entry = plan_.mutable_kernels(*index);
  if (auto info = callee->getAttrOfType<graph::KernelAttr>("graph.kernel")) {
    entry->set_kind(info.getKindName());
    for (StringAttr layer : info.getLayers())
      entry->add_layers(layer.getValue().str());
    entry->set_compute_ops(static_cast<uint32_t>(info.getOps()));
  }
  for (Operation &op : callee.getBody().front()) {
    if (llvm::isa<func::ReturnOp, graph::ConstantOp>(op))
      continue;
    plan::SourceOp *source = entry->add_source_ops();
    source->set_op_name(op.getName().getStringRef().str());
    source->set_location(describeLocation(op.getLoc()));
  }
  auto inserted =
      kernelOfCallee_.try_emplace(callee.getSymName(), *index, *std::move(kernel)).first;
  emitted = &inserted->second.second;
  return *index;
}

LogicalResult PlanAssembler::addMaskConversion(Operation *op, int64_t count, bool pack,
                                               uint32_t destination, uint32_t source) {
  std::string name = (pack ? "mask_pack_" : "mask_unpack_") + std::to_string(count);
  auto known = kernelOfCallee_.find(name);
  if (known == kernelOfCallee_.end()) {
    FailureOr<EmittedKernel> kernel = kernels::emitMaskConversion(
        module_.getContext(), op->getLoc(), name, count, pack, kernels::TargetConfig::gpu());
    if (failed(kernel))
      return failure();
    FailureOr<uint32_t> index = addKernel(name, *kernel, op, 1, 2);
    if (failed(index))
      return failure();
    plan::Kernel *entry = plan_.mutable_kernels(*index);
    entry->set_kind(pack ? "mask-pack" : "mask-unpack");
    plan::SourceOp *sourceOp = entry->add_source_ops();
    sourceOp->set_op_name(op->getName().getStringRef().str());
    sourceOp->set_location(describeLocation(op->getLoc()));
    known = kernelOfCallee_.try_emplace(name, *index, *std::move(kernel)).first;
  }
  const EmittedKernel &kernel = known->second.second;
  plan::Dispatch *dispatch = addCommand({source}, {destination}).mutable_dispatch();
  dispatch->set_kernel(known->second.first);
  dispatch->add_buffers(destination);
  dispatch->add_buffers(source);
  dispatch->mutable_group_count()->set_x(kernel.groupCount[0]);
  dispatch->mutable_group_count()->set_y(kernel.groupCount[1]);
  dispatch->mutable_group_count()->set_z(kernel.groupCount[2]);
  return success();
}

LogicalResult PlanAssembler::addKernelCall(func::CallOp call) {
  auto callee = module_.lookupSymbol<func::FuncOp>(call.getCallee());
  if (!callee || !callee->hasAttr("graph.kernel"))
    return call.emitOpError("cannot be compiled: it calls @")
           << call.getCallee() << ", which is not a kernel formed by kiln-fuse";
  for (Value value : call.getResults())
    if (failed(bufferBytes(call, value.getType(), "a kernel result")))
      return failure();
  for (Value value : call.getOperands())
    if (failed(bufferBytes(call, value.getType(), "a kernel operand")))
      return failure();
  const EmittedKernel *emitted = nullptr;
  FailureOr<uint32_t> kernel = kernelFor(callee, emitted);
  if (failed(kernel))
    return failure();
  llvm::SmallVector<uint32_t, 8> buffers, reads, writes;
  for (auto [i, result] : llvm::enumerate(call.getResults())) {
    std::string name = callee.getSymName().str() + "." + std::to_string(i);
    uint32_t buffer = addBuffer(std::move(name), *bufferBytes(call, result.getType(), "a result"),
                                plan::BUFFER_ROLE_TRANSIENT);
    program_.bufferOf[result] = buffer;
    buffers.push_back(buffer);
    writes.push_back(buffer);
  }
  for (Value operand : call.getOperands()) {
    uint32_t buffer = program_.bufferOf.lookup(operand);
    buffers.push_back(buffer);
    reads.push_back(buffer);
  }
  plan::Dispatch *dispatch = addCommand(reads, writes).mutable_dispatch();
  dispatch->set_kernel(*kernel);
  for (uint32_t buffer : buffers)
    dispatch->add_buffers(buffer);
  dispatch->mutable_group_count()->set_x(emitted->groupCount[0]);
  dispatch->mutable_group_count()->set_y(emitted->groupCount[1]);
  dispatch->mutable_group_count()->set_z(emitted->groupCount[2]);
  return success();
}

LogicalResult PlanAssembler::addOutput(Operation *op, std::string name, Value value) {
  auto type = llvm::cast<RankedTensorType>(value.getType());
  for (uint32_t index : program_.step->outputs())
    if (plan_.outputs(index).tensor().name() == name)
      return op->emitOpError("names output '") << name << "' a second time; output names "
                                               << "must be unique within a function";
  uint32_t buffer = program_.bufferOf.lookup(value);
  const plan::Buffer &source = plan_.buffers(buffer);
  if (type.getElementType().isInteger(1)) {
    uint32_t packed =
        addBuffer(name, hostMaskBytes(type.getNumElements()), plan::BUFFER_ROLE_OUTPUT);
    if (failed(addMaskConversion(op, type.getNumElements(), /*pack=*/true, packed, buffer)))
      return failure();
    buffer = packed;
  } else if (source.role() == plan::BUFFER_ROLE_TRANSIENT) {
    plan_.mutable_buffers(buffer)->set_role(plan::BUFFER_ROLE_OUTPUT);
  } else {
    // Inputs, variables, constants and other outputs keep their buffer; the output gets a
    // copy, taken here, before any assign changes a variable.
    uint64_t sizeBytes = source.size_bytes();
    uint32_t copy = addBuffer(name, sizeBytes, plan::BUFFER_ROLE_OUTPUT);
    addCopy(buffer, copy, sizeBytes);
    buffer = copy;
  }
  *plan_.add_outputs()->mutable_tensor() = tensorSpec(name, type, buffer);
  program_.step->add_outputs(static_cast<uint32_t>(plan_.outputs_size() - 1));
  return success();
}

LogicalResult PlanAssembler::addStepOp(Operation *op) {
  if (auto call = llvm::dyn_cast<func::CallOp>(op))
    return addKernelCall(call);
  if (auto input = llvm::dyn_cast<graph::InputOp>(op))
    return addInput(input);
  if (auto constant = llvm::dyn_cast<graph::ConstantOp>(op))
    return addConstant(constant);
  if (auto read = llvm::dyn_cast<graph::ReadOp>(op)) {
    program_.bufferOf[read.getResult()] = variableBuffer_.lookup(read.getVariable());
    return success();
  }
  if (auto reshape = llvm::dyn_cast<graph::ReshapeOp>(op)) {
    // Buffers are row-major, so a reshape is the same bytes under another shape.
    program_.bufferOf[reshape.getResult()] = program_.bufferOf.lookup(reshape.getOperand());
    return success();
  }
  if (auto output = llvm::dyn_cast<graph::OutputOp>(op))
    return addOutput(output, output.getName().str(), output.getValue());
  if (auto gradient = llvm::dyn_cast<graph::GradientOp>(op))
    return addOutput(gradient, gradientOutputName(gradient.getVariable()), gradient.getValue());
  if (auto assign = llvm::dyn_cast<graph::AssignOp>(op)) {
    for (graph::AssignOp earlier : program_.assigns)
      if (earlier.getVariable() == assign.getVariable())
        return assign.emitOpError("assigns @")
               << assign.getVariable() << " a second time in one step";
    program_.assigns.push_back(assign);
    return success();
  }
  if (llvm::isa<graph::MinimizeOp>(op))
    return op->emitOpError("cannot be compiled for the Vulkan target: it must be lowered by "
                           "kiln-autodiff (part of the training-step pipeline) first");
  if (llvm::isa<func::ReturnOp>(op))
    return success();
  return op->emitOpError("cannot be compiled: only graph-dialect ops and the kernels kiln-fuse "
                         "formed from them can be part of a program");
}

LogicalResult PlanAssembler::addAssigns() {
  // Every read of the step saw the old values, so the copies come last. A variable assigned
  // the start-of-step value of another variable that is itself assigned is saved first.
  llvm::StringMap<bool> assigned;
  for (graph::AssignOp assign : program_.assigns)
    assigned[assign.getVariable()] = true;
  llvm::SmallVector<std::pair<uint32_t, uint32_t>> copies;
  for (graph::AssignOp assign : program_.assigns) {
    uint32_t destination = variableBuffer_.lookup(assign.getVariable());
    uint32_t source = program_.bufferOf.lookup(assign.getValue());
    if (source == destination)
      continue;
    const plan::Buffer &buffer = plan_.buffers(source);
    if (buffer.role() == plan::BUFFER_ROLE_VARIABLE && assigned.lookup(buffer.name())) {
      uint32_t saved =
          addBuffer(buffer.name() + ".previous", buffer.size_bytes(), plan::BUFFER_ROLE_TRANSIENT);
      addCopy(source, saved, buffer.size_bytes());
      source = saved;
    }
    copies.push_back({source, destination});
  }
  for (auto [source, destination] : copies)
    addCopy(source, destination, plan_.buffers(destination).size_bytes());
  return success();
}

void PlanAssembler::addMetadata() {
  plan::Metadata *metadata = plan_.mutable_metadata();
  metadata->set_model_name(module_.getSymName() ? module_.getSymName()->str() : "");
  metadata->set_compiler_version(options_.compilerVersion.empty() ? compilerVersion()
                                                                  : options_.compilerVersion);
  for (plan::Target target : options_.targets)
    metadata->add_targets(target);
  // The module with its locations, so the reference device running it reports the user's
  // source lines; the hash covers exactly this text.
  std::string text;
  llvm::raw_string_ostream os(text);
  source_.print(os, OpPrintingFlags().enableDebugInfo(/*enable=*/true, /*prettyForm=*/false));
  metadata->set_source_ir_hash(toHex(sha256(os.str())));
  plan_.set_graph_module(std::move(text));
}

LogicalResult PlanAssembler::addProgram(func::FuncOp function, plan::Step *step,
                                        llvm::StringRef name) {
  if (function.isExternal() || !function.getBody().hasOneBlock())
    return function.emitOpError("must have a body of exactly one block to be compiled for the "
                                "Vulkan target");
  if (function.getNumArguments() != 0 || function.getNumResults() != 0)
    return function.emitOpError("must take no arguments and return nothing: a program's data "
                                "comes in through graph.input and leaves through graph.output");
  program_ = ProgramState();
  program_.step = step;
  step->set_name(name.str());
  for (Operation &op : function.getBody().front())
    if (failed(addStepOp(&op)))
      return failure();
  return addAssigns();
}

FailureOr<plan::Plan> PlanAssembler::assemble() {
  auto train = module_.lookupSymbol<func::FuncOp>("step");
  if (!train)
    return module_.emitError("cannot compile for the Vulkan target: the module has no "
                             "func.func @step");
  if (failed(addVariables()) || failed(addProgram(train, plan_.mutable_step(), "train")))
    return failure();
  for (auto function : module_.getOps<func::FuncOp>()) {
    if (function == train || function->hasAttr("graph.kernel"))
      continue;
    if (function.getSymName() == "train")
      return function.emitOpError("is named like the training step's program; rename it");
    if (failed(addProgram(function, plan_.add_programs(), function.getSymName())))
      return failure();
  }
  if (failed(kernelCompiler_.compileAll(plan_)))
    return failure();
  addMetadata();
  if (absl::Status status = plan::validatePlan(plan_); !status.ok())
    return module_.emitError("internal compiler error: the generated plan is invalid: ")
           << status.ToString();
  return std::move(plan_);
}

/// Hands the module to CodegenOptions::afterPass after each of code generation's passes.
class AfterPassCallback : public PassInstrumentation {
public:
  explicit AfterPassCallback(std::function<void(llvm::StringRef, ModuleOp)> callback)
      : callback_(std::move(callback)) {}
  void runAfterPass(Pass *pass, Operation *op) override {
    if (auto module = llvm::dyn_cast<ModuleOp>(op))
      callback_(pass->getArgument(), module);
  }

private:
  std::function<void(llvm::StringRef, ModuleOp)> callback_;
};

} // namespace

const char *compilerVersion() { return KILN_COMPILER_VERSION; }

std::string gradientOutputName(std::string_view variable) {
  return "gradient/" + std::string(variable);
}

FailureOr<plan::Plan> compileToPlan(ModuleOp module, const CodegenOptions &options) {
  MLIRContext *context = module.getContext();
  DialectRegistry registry;
  kernels::registerKernelEmitterDialects(registry);
  targets::registerKernelDialects(registry);
  context->appendDialectRegistry(registry);
  context->loadAllAvailableDialects();

  OwningOpRef<ModuleOp> compiled(module.clone());
  PassManager pm(context);
  FuseOptions fuse;
  fuse.noFusion = !options.fusion;
  fuse.explain = options.explainFusion;
  pm.addPass(createFuse(fuse));
  pm.addPass(createEmitKernels());
  if (options.afterPass)
    pm.addInstrumentation(std::make_unique<AfterPassCallback>(options.afterPass));
  if (failed(pm.run(*compiled)))
    return failure();
  FailureOr<plan::Plan> plan = PlanAssembler(*compiled, module, options).assemble();
  if (failed(plan) || !options.planMemory)
    return plan;
  absl::StatusOr<plan::MemorySummary> memory = memory::planMemory(*plan);
  if (!memory.ok())
    return module.emitError("internal compiler error: memory planning failed: ")
           << memory.status().ToString();
  if (absl::Status status = plan::validatePlan(*plan); !status.ok())
    return module.emitError("internal compiler error: the memory-planned plan is invalid: ")
           << status.ToString();
  return plan;
}

} // namespace kiln::codegen
