//===- AssemblePlan.cpp - kiln-exec-assemble: kernels and programs to exec ===//
//
// Walks func @step and every other program function (such as @eval), each
// once, in order. Interface ops (inputs, variables, reads, constants, reshapes)
// become buffers; each call of a kernel function becomes a dispatch of the
// exec.kernel made for it (its code the gpu.module kiln-emit-kernels emitted),
// its results fresh transient buffers; outputs name buffers (copying into a
// fresh output buffer when the value lives in an input, variable, constant or
// another output's buffer); assigns become copies at the end of the program.
// Only vectors and lookups keyed by values drive the output, so the plan is
// the same for the same module.
//
//===----------------------------------------------------------------------===//

#include "kiln/Exec/Passes.h"

#include "Accesses.h"
#include "CpuKernels.h"

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Kernels/KernelEmitter.h"
#include "kiln/Targets/CpuTarget.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace kiln::exec {
#define GEN_PASS_DEF_EXECASSEMBLE
#include "kiln/Exec/Passes.h.inc"
} // namespace kiln::exec

using namespace mlir;

namespace kiln::exec {
namespace {

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

/// A kernel made so far: its symbol and the grid its dispatches use.
struct KnownKernel {
  KernelOp op;
  std::array<int32_t, 3> groups;
};

/// What assembling one program tracks.
struct ProgramState {
  explicit ProgramState(ProgramOp program)
      : op(program), body(OpBuilder::atBlockEnd(&program.getBlock())) {}
  ProgramOp op;
  OpBuilder body;
  llvm::DenseMap<Value, Value> bufferOf;
  /// The buffer the kernels read for each input name (for i1 inputs, the unpacked words).
  llvm::StringMap<Value> inputValueBuffer;
  llvm::SmallVector<Attribute> inputs;
  llvm::StringMap<bool> outputNames;
  std::vector<graph::AssignOp> assigns;
};

class Assembler {
public:
  Assembler(ModuleOp module, llvm::ArrayRef<std::string> targets, llvm::StringRef compiler)
      : module_(module), top_(module.getContext()), targets_(targets), compiler_(compiler) {}

  LogicalResult assemble();
  unsigned buffers() const { return numBuffers_; }
  unsigned kernels() const { return static_cast<unsigned>(kernels_.size()); }
  unsigned copies() const { return numCopies_; }

private:
  LogicalResult addVariables();
  LogicalResult addProgram(func::FuncOp function, llvm::StringRef name);
  LogicalResult addStepOp(Operation *op);
  LogicalResult addInput(graph::InputOp op);
  LogicalResult addConstant(graph::ConstantOp op);
  LogicalResult addKernelCall(func::CallOp call);
  FailureOr<KnownKernel> kernelFor(func::FuncOp callee);
  KernelOp addKernel(Location loc, llvm::StringRef name, kernels::EmittedKernel &kernel,
                     unsigned outputCount, unsigned bindingCount);
  LogicalResult addMaskConversion(Operation *op, int64_t count, bool pack, Value destination,
                                  Value source);
  LogicalResult addOutput(Operation *op, llvm::StringRef name, Value value);
  LogicalResult addAssigns();

  FailureOr<uint64_t> bufferBytes(Operation *op, Type type, llvm::StringRef what);
  Value addBuffer(Location loc, llvm::StringRef name, uint64_t sizeBytes, BufferRole role);
  void addCopy(Location loc, Value source, Value destination, uint64_t sizeBytes);
  void addDispatch(Location loc, const KnownKernel &kernel, llvm::ArrayRef<Value> buffers);

  ModuleOp module_;
  PlanOp plan_;
  /// Inserts buffers, kernels, inputs and variables before the first program, in order.
  OpBuilder top_;
  llvm::ArrayRef<std::string> targets_;
  llvm::StringRef compiler_;
  unsigned numBuffers_ = 0, numCopies_ = 0;
  llvm::StringMap<KnownKernel> kernels_;
  ProgramState *program_ = nullptr;
  llvm::StringMap<Value> variableBuffer_;
  llvm::StringMap<InputOp> inputs_;
};

FailureOr<uint64_t> Assembler::bufferBytes(Operation *op, Type type, llvm::StringRef what) {
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

Value Assembler::addBuffer(Location loc, llvm::StringRef name, uint64_t sizeBytes,
                           BufferRole role) {
  ++numBuffers_;
  return top_.create<BufferOp>(loc, BufferType::get(module_.getContext()), name, role,
                               static_cast<int64_t>(sizeBytes), IntegerAttr(), DenseI32ArrayAttr());
}

void Assembler::addCopy(Location loc, Value source, Value destination, uint64_t sizeBytes) {
  ++numCopies_;
  program_->body.create<CopyOp>(loc, source, destination, static_cast<int64_t>(sizeBytes));
}

void Assembler::addDispatch(Location loc, const KnownKernel &kernel,
                            llvm::ArrayRef<Value> buffers) {
  KernelOp op = kernel.op;
  program_->body.create<DispatchOp>(loc, op.getSymName(), buffers, op.getWritten(),
                                    top_.getDenseI32ArrayAttr(kernel.groups), DenseI32ArrayAttr());
}

LogicalResult Assembler::addVariables() {
  for (auto variable : module_.getOps<graph::VariableOp>()) {
    RankedTensorType type = variable.getTensorType();
    FailureOr<uint64_t> bytes = bufferBytes(variable, type, "the variable");
    if (failed(bytes))
      return failure();
    if (type.getElementType().isInteger(1))
      return variable.emitOpError("cannot be compiled for the Vulkan target: i1 variables are "
                                  "not supported (the host stores masks one byte each, kernels "
                                  "one word each); store the mask as an f32 variable of 0 and 1");
    StringRef name = variable.getSymName();
    Value buffer = addBuffer(variable.getLoc(), name, *bytes, BufferRole::variable);
    variableBuffer_[name] = buffer;
    graph::InitializerAttr init = variable.getInit();
    Distribution distribution =
        init.getDistribution() == graph::Distribution::constant  ? Distribution::constant
        : init.getDistribution() == graph::Distribution::uniform ? Distribution::uniform
                                                                 : Distribution::normal;
    auto initAttr = InitAttr::get(module_.getContext(), distribution, APFloat(init.getFirst()),
                                  APFloat(init.getSecond()), init.getSeed(), init.getStream());
    top_.create<VariableOp>(variable.getLoc(), name, buffer, type, initAttr,
                            variable.getTrainable());
  }
  return success();
}

LogicalResult Assembler::addInput(graph::InputOp op) {
  auto type = llvm::cast<RankedTensorType>(op.getType());
  StringRef name = op.getName();
  auto known = inputs_.find(name);
  if (known != inputs_.end()) {
    if (known->second.getType() != type)
      return op.emitOpError("reads input '")
             << name << "' as " << type << " but an earlier graph.input of that name reads it "
             << "as " << known->second.getType() << "; the plan's programs share inputs by "
             << "name, so give this program's input its own name (the builder names the "
             << "inputs of a program \"<program>.<name>\")";
    if (auto seen = program_->inputValueBuffer.find(name);
        seen != program_->inputValueBuffer.end()) {
      program_->bufferOf[op.getResult()] = seen->second;
      return success();
    }
  }
  FailureOr<uint64_t> bytes = bufferBytes(op, type, "the input");
  if (failed(bytes))
    return failure();
  bool mask = type.getElementType().isInteger(1);
  if (known == inputs_.end()) {
    Value buffer = addBuffer(op.getLoc(), name, hostTensorBytes(type), BufferRole::input);
    ElementsAttr defaultValue;
    if (std::optional<ElementsAttr> value = op.getDefaultValue()) {
      if (failed(elementWords(*value)))
        return op.emitOpError("has a default value the Vulkan target cannot encode: ") << *value;
      defaultValue = *value;
    }
    auto input = top_.create<InputOp>(op.getLoc(), name, buffer, type, defaultValue);
    known = inputs_.insert({name, input}).first;
  }
  program_->inputs.push_back(top_.getStringAttr(name));
  Value buffer = known->second.getBuffer();
  if (mask) {
    Value words = addBuffer(op.getLoc(), (name + ".words").str(), *bytes, BufferRole::transient);
    if (failed(addMaskConversion(op, type.getNumElements(), /*pack=*/false, words, buffer)))
      return failure();
    buffer = words;
  }
  program_->inputValueBuffer[name] = buffer;
  program_->bufferOf[op.getResult()] = buffer;
  return success();
}

LogicalResult Assembler::addConstant(graph::ConstantOp op) {
  FailureOr<uint64_t> bytes = bufferBytes(op, op.getType(), "the constant");
  if (failed(bytes))
    return failure();
  FailureOr<std::vector<int32_t>> words = elementWords(op.getValue());
  if (failed(words))
    return op.emitOpError("has a value the Vulkan target cannot encode: ") << op.getValue();
  Value buffer = addBuffer(op.getLoc(), "constant." + std::to_string(numBuffers_), *bytes,
                           BufferRole::constant);
  bufferOf(buffer).setDataAttr(top_.getDenseI32ArrayAttr(*words));
  program_->bufferOf[op.getResult()] = buffer;
  return success();
}

KernelOp Assembler::addKernel(Location loc, llvm::StringRef name, kernels::EmittedKernel &emitted,
                              unsigned outputCount, unsigned bindingCount) {
  llvm::SmallVector<bool> written(bindingCount, false);
  for (unsigned binding = 0; binding < outputCount; ++binding)
    written[binding] = true;
  std::array<int32_t, 3> workgroup;
  for (int axis = 0; axis < 3; ++axis)
    workgroup[axis] = static_cast<int32_t>(emitted.workgroupSize[axis]);
  auto kernel = top_.create<KernelOp>(loc, name, "", top_.getDenseBoolArrayAttr(written),
                                      top_.getDenseI32ArrayAttr(workgroup), FlatSymbolRefAttr(),
                                      StringAttr(), DenseI32ArrayAttr(), ArrayAttr(), IntegerAttr(),
                                      ArrayAttr(), IntegerAttr(), StringAttr(), DictionaryAttr(),
                                      FlatSymbolRefAttr(), IntegerAttr(), ArrayAttr());
  if (!emitted.inPlace.empty()) {
    llvm::SmallVector<int32_t> pairs;
    for (auto [output, input] : emitted.inPlace) {
      pairs.push_back(static_cast<int32_t>(output));
      pairs.push_back(static_cast<int32_t>(input));
    }
    kernel.setInPlaceAttr(top_.getDenseI32ArrayAttr(pairs));
  }
  // The code: the emitted gpu.module, moved beside the plan (after it, in kernel order).
  // It is named "kernels" (the name it is lowered under); beside the plan it takes the name
  // kiln-emit-kernels gave it, replacing the module it was taken from.
  gpu::GPUModuleOp code = emitted.gpuModule;
  std::string codeName = kernels::gpuModuleName(name);
  if (Operation *original = module_.lookupSymbol(codeName))
    original->erase();
  code->remove();
  code.setName(codeName);
  module_.getBody()->push_back(code);
  kernel.setCodeAttr(FlatSymbolRefAttr::get(code.getSymNameAttr()));
  return kernel;
}

FailureOr<KnownKernel> Assembler::kernelFor(func::FuncOp callee) {
  auto known = kernels_.find(callee.getSymName());
  if (known != kernels_.end())
    return known->second;
  auto gpuModule =
      module_.lookupSymbol<gpu::GPUModuleOp>(kernels::gpuModuleName(callee.getSymName()));
  if (!gpuModule)
    return callee.emitOpError("internal compiler error: kiln-emit-kernels left no gpu.module ")
           << "for this kernel";
  FailureOr<kernels::EmittedKernel> emitted = kernels::takeEmittedKernel(gpuModule);
  if (failed(emitted))
    return failure();
  KernelOp kernel =
      addKernel(callee.getLoc(), callee.getSymName(), *emitted, callee.getNumResults(),
                callee.getNumResults() + callee.getNumArguments());
  if (auto info = callee->getAttrOfType<graph::KernelAttr>("graph.kernel")) {
    kernel.setKind(info.getKindName());
    if (!info.getLayers().empty())
      kernel.setLayersAttr(top_.getArrayAttr(llvm::to_vector_of<Attribute>(info.getLayers())));
    kernel.setComputeOpsAttr(top_.getI64IntegerAttr(info.getOps()));
  }
  if (llvm::is_contained(targets_, "cpu") &&
      failed(addCpuKernel(module_, callee, kernel.getKind(), kernel)))
    return failure();
  llvm::SmallVector<Attribute> sources;
  for (Operation &op : callee.getBody().front()) {
    if (llvm::isa<func::ReturnOp, graph::ConstantOp>(op))
      continue;
    sources.push_back(
        top_.getStrArrayAttr({op.getName().getStringRef(), describeLocation(op.getLoc())}));
  }
  if (!sources.empty())
    kernel.setSourceOpsAttr(top_.getArrayAttr(sources));
  KnownKernel result{kernel, {}};
  for (int axis = 0; axis < 3; ++axis)
    result.groups[axis] = static_cast<int32_t>(emitted->groupCount[axis]);
  return kernels_.try_emplace(callee.getSymName(), result).first->second;
}

LogicalResult Assembler::addMaskConversion(Operation *op, int64_t count, bool pack,
                                           Value destination, Value source) {
  std::string name = (pack ? "mask_pack_" : "mask_unpack_") + std::to_string(count);
  auto known = kernels_.find(name);
  if (known == kernels_.end()) {
    FailureOr<kernels::EmittedKernel> emitted = kernels::emitMaskConversion(
        module_.getContext(), op->getLoc(), name, count, pack, kernels::TargetConfig::gpu());
    if (failed(emitted))
      return failure();
    KernelOp kernel = addKernel(op->getLoc(), name, *emitted, 1, 2);
    kernel.setKind(pack ? "mask-pack" : "mask-unpack");
    if (llvm::is_contained(targets_, "cpu") &&
        failed(addCpuMaskConversion(module_, op->getLoc(), name, count, pack, kernel)))
      return failure();
    kernel.setSourceOpsAttr(top_.getArrayAttr(
        top_.getStrArrayAttr({op->getName().getStringRef(), describeLocation(op->getLoc())})));
    KnownKernel entry{kernel, {}};
    for (int axis = 0; axis < 3; ++axis)
      entry.groups[axis] = static_cast<int32_t>(emitted->groupCount[axis]);
    known = kernels_.try_emplace(name, entry).first;
  }
  addDispatch(op->getLoc(), known->second, {destination, source});
  return success();
}

LogicalResult Assembler::addKernelCall(func::CallOp call) {
  auto callee = module_.lookupSymbol<func::FuncOp>(call.getCallee());
  if (!callee || !callee->hasAttr("graph.kernel"))
    return call.emitOpError("cannot be compiled: it calls @")
           << call.getCallee() << ", which is not a kernel formed by kiln-fuse";
  // Kernels only return values, so one without results computes nothing anyone reads (a
  // module compiled without the simplification passes can leave such dead groups).
  if (call.getNumResults() == 0)
    return success();
  for (Value value : call.getResults())
    if (failed(bufferBytes(call, value.getType(), "a kernel result")))
      return failure();
  for (Value value : call.getOperands())
    if (failed(bufferBytes(call, value.getType(), "a kernel operand")))
      return failure();
  FailureOr<KnownKernel> kernel = kernelFor(callee);
  if (failed(kernel))
    return failure();
  llvm::SmallVector<Value, 8> buffers;
  for (auto [i, result] : llvm::enumerate(call.getResults())) {
    std::string name = callee.getSymName().str() + "." + std::to_string(i);
    Value buffer = addBuffer(call.getLoc(), name, *bufferBytes(call, result.getType(), "a result"),
                             BufferRole::transient);
    program_->bufferOf[result] = buffer;
    buffers.push_back(buffer);
  }
  for (Value operand : call.getOperands())
    buffers.push_back(program_->bufferOf.lookup(operand));
  addDispatch(call.getLoc(), *kernel, buffers);
  return success();
}

LogicalResult Assembler::addOutput(Operation *op, llvm::StringRef name, Value value) {
  auto type = llvm::cast<RankedTensorType>(value.getType());
  if (!program_->outputNames.try_emplace(name, true).second)
    return op->emitOpError("names output '") << name << "' a second time; output names "
                                             << "must be unique within a function";
  Value buffer = program_->bufferOf.lookup(value);
  BufferOp source = bufferOf(buffer);
  if (type.getElementType().isInteger(1)) {
    Value packed = addBuffer(op->getLoc(), name, hostTensorBytes(type), BufferRole::output);
    if (failed(addMaskConversion(op, type.getNumElements(), /*pack=*/true, packed, buffer)))
      return failure();
    buffer = packed;
  } else if (source.getRole() == BufferRole::transient) {
    source.setRole(BufferRole::output);
  } else {
    // Inputs, variables, constants and other outputs keep their buffer; the output gets a
    // copy, taken here, before any assign changes a variable.
    uint64_t sizeBytes = static_cast<uint64_t>(source.getSize());
    Value copy = addBuffer(op->getLoc(), name, sizeBytes, BufferRole::output);
    addCopy(op->getLoc(), buffer, copy, sizeBytes);
    buffer = copy;
  }
  program_->body.create<OutputOp>(op->getLoc(), name, buffer, type);
  return success();
}

LogicalResult Assembler::addStepOp(Operation *op) {
  if (auto call = llvm::dyn_cast<func::CallOp>(op))
    return addKernelCall(call);
  if (auto input = llvm::dyn_cast<graph::InputOp>(op))
    return addInput(input);
  if (auto constant = llvm::dyn_cast<graph::ConstantOp>(op))
    return addConstant(constant);
  if (auto read = llvm::dyn_cast<graph::ReadOp>(op)) {
    program_->bufferOf[read.getResult()] = variableBuffer_.lookup(read.getVariable());
    return success();
  }
  if (auto reshape = llvm::dyn_cast<graph::ReshapeOp>(op)) {
    // Buffers are row-major, so a reshape is the same bytes under another shape.
    program_->bufferOf[reshape.getResult()] = program_->bufferOf.lookup(reshape.getOperand());
    return success();
  }
  if (auto output = llvm::dyn_cast<graph::OutputOp>(op))
    return addOutput(output, output.getName(), output.getValue());
  if (auto gradient = llvm::dyn_cast<graph::GradientOp>(op))
    return addOutput(gradient, gradientOutputName(gradient.getVariable()), gradient.getValue());
  if (auto assign = llvm::dyn_cast<graph::AssignOp>(op)) {
    for (graph::AssignOp earlier : program_->assigns)
      if (earlier.getVariable() == assign.getVariable())
        return assign.emitOpError("assigns @")
               << assign.getVariable() << " a second time in one step";
    program_->assigns.push_back(assign);
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

LogicalResult Assembler::addAssigns() {
  // Every read of the program saw the old values, so the copies come last. A variable assigned
  // the start-of-step value of another variable that is itself assigned is saved first.
  llvm::StringMap<bool> assigned;
  for (graph::AssignOp assign : program_->assigns)
    assigned[assign.getVariable()] = true;
  llvm::SmallVector<std::tuple<Location, Value, Value>> copies;
  for (graph::AssignOp assign : program_->assigns) {
    Value destination = variableBuffer_.lookup(assign.getVariable());
    Value source = program_->bufferOf.lookup(assign.getValue());
    if (source == destination)
      continue;
    BufferOp buffer = bufferOf(source);
    if (buffer.getRole() == BufferRole::variable && assigned.lookup(buffer.getName())) {
      Value saved = addBuffer(assign.getLoc(), (buffer.getName() + ".previous").str(),
                              buffer.getSize(), BufferRole::transient);
      addCopy(assign.getLoc(), source, saved, buffer.getSize());
      source = saved;
    }
    copies.push_back({assign.getLoc(), source, destination});
  }
  for (auto [loc, source, destination] : copies)
    addCopy(loc, source, destination, bufferOf(destination).getSize());
  return success();
}

LogicalResult Assembler::addProgram(func::FuncOp function, llvm::StringRef name) {
  if (function.isExternal() || !function.getBody().hasOneBlock())
    return function.emitOpError("must have a body of exactly one block to be compiled for the "
                                "Vulkan target");
  if (function.getNumArguments() != 0 || function.getNumResults() != 0)
    return function.emitOpError("must take no arguments and return nothing: a program's data "
                                "comes in through graph.input and leaves through graph.output");
  OpBuilder builder(module_.getContext());
  builder.setInsertionPointToEnd(&plan_.getBlock());
  auto program = builder.create<ProgramOp>(function.getLoc(), name, builder.getStrArrayAttr({}),
                                           /*implicit_io=*/false);
  program.getBody().emplaceBlock();
  if (name == "train")
    top_.setInsertionPoint(program);
  ProgramState state(program);
  program_ = &state;
  for (Operation &op : function.getBody().front())
    if (failed(addStepOp(&op)))
      return failure();
  if (failed(addAssigns()))
    return failure();
  program.setInputsAttr(builder.getArrayAttr(state.inputs));
  program_ = nullptr;
  return success();
}

LogicalResult Assembler::assemble() {
  auto train = module_.lookupSymbol<func::FuncOp>("step");
  if (!train)
    return module_.emitError("cannot compile for the Vulkan target: the module has no "
                             "func.func @step");
  for (auto function : module_.getOps<func::FuncOp>())
    if (function != train && !function->hasAttr("graph.kernel") && function.getSymName() == "train")
      return function.emitOpError("is named like the training step's program; rename it");

  OpBuilder builder = OpBuilder::atBlockBegin(module_.getBody());
  llvm::SmallVector<llvm::StringRef> targets(targets_.begin(), targets_.end());
  if (targets.empty())
    targets = {"vulkan", "cuda"};
  StringRef name = module_.getSymName() ? *module_.getSymName() : "";
  plan_ = builder.create<PlanOp>(module_.getLoc(), name, builder.getStrArrayAttr(targets),
                                 compiler_.empty() ? StringRef(compilerVersion()) : compiler_,
                                 StringAttr(), DenseI32ArrayAttr(), IntegerAttr(), IntegerAttr(),
                                 IntegerAttr(), IntegerAttr(), IntegerAttr(), IntegerAttr(),
                                 DictionaryAttr());
  plan_.getBody().emplaceBlock();
  // Variables come first among the buffers; they are placed once @train exists.
  top_.setInsertionPointToEnd(&plan_.getBlock());
  if (failed(addVariables()))
    return failure();
  if (failed(addProgram(train, "train")))
    return failure();
  for (auto function : llvm::make_early_inc_range(module_.getOps<func::FuncOp>())) {
    if (function == train || function->hasAttr("graph.kernel"))
      continue;
    if (failed(addProgram(function, function.getSymName())))
      return failure();
  }
  // What the plan now says replaces the graph-level program: drop it, keeping the plan and
  // the kernels' code.
  for (Operation &op : llvm::make_early_inc_range(*module_.getBody()))
    if (&op != plan_ && !llvm::isa<gpu::GPUModuleOp, ModuleOp>(op))
      op.erase();
  llvm::StringMap<bool> used;
  for (auto kernel : plan_.getBlock().getOps<KernelOp>()) {
    used[*kernel.getCode()] = true;
    if (std::optional<StringRef> cpu = kernel.getCpuCode())
      used[*cpu] = true;
  }
  for (auto code : llvm::make_early_inc_range(module_.getOps<ModuleOp>()))
    if (!code.getSymName() || !used.lookup(*code.getSymName()))
      code.erase();
  for (auto code : llvm::make_early_inc_range(module_.getOps<gpu::GPUModuleOp>()))
    if (!used.lookup(code.getSymName()))
      code.erase();
  return success();
}

class ExecAssemble : public impl::ExecAssembleBase<ExecAssemble> {
public:
  using ExecAssembleBase::ExecAssembleBase;

  void getDependentDialects(DialectRegistry &registry) const override {
    ExecAssembleBase::getDependentDialects(registry);
    targets::registerCpuKernelDialects(registry);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (getPlan(module)) {
      module.emitError("kiln-exec-assemble: the module already holds an exec.plan");
      return signalPassFailure();
    }
    std::vector<std::string> names(targets.begin(), targets.end());
    for (const std::string &target : names)
      if (target != "vulkan" && target != "cuda" && target != "cpu") {
        module.emitError("kiln-exec-assemble: unknown target '")
            << target << "'; expected vulkan, cuda or cpu";
        return signalPassFailure();
      }
    Assembler assembler(module, names, compiler);
    if (failed(assembler.assemble()))
      return signalPassFailure();
    numBuffers = assembler.buffers();
    numKernels = assembler.kernels();
    numCopies = assembler.copies();
  }
};

} // namespace

std::string gradientOutputName(llvm::StringRef variable) { return ("gradient/" + variable).str(); }

const char *compilerVersion() { return KILN_COMPILER_VERSION; }

PlanOp getPlan(ModuleOp module) {
  auto plans = module.getOps<PlanOp>();
  return plans.empty() ? PlanOp() : *plans.begin();
}

} // namespace kiln::exec
