//===- Serialize.cpp - exec.plan to the protobuf plan ---------------------===//
//
// A thin printer: every decision was made by the passes, and each op becomes
// the message it names. Indices are positions: the n-th exec.buffer is buffer
// n, the n-th exec.kernel kernel n, outputs are numbered in program order.
//
//===----------------------------------------------------------------------===//

#include "kiln/Exec/Serialize.h"

#include "Accesses.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SHA256.h"

#include <array>

using namespace mlir;

namespace kiln::exec {
namespace {

void appendWord(std::string &bytes, uint32_t word) {
  for (int shift = 0; shift < 32; shift += 8)
    bytes.push_back(static_cast<char>((word >> shift) & 0xff));
}

plan::DType dtypeOf(Type element) {
  return element.isF32()         ? plan::DTYPE_F32
         : element.isInteger(32) ? plan::DTYPE_I32
                                 : plan::DTYPE_I1;
}

plan::BufferRole roleOf(BufferRole role) {
  switch (role) {
  case BufferRole::transient:
    return plan::BUFFER_ROLE_TRANSIENT;
  case BufferRole::variable:
    return plan::BUFFER_ROLE_VARIABLE;
  case BufferRole::input:
    return plan::BUFFER_ROLE_INPUT;
  case BufferRole::output:
    return plan::BUFFER_ROLE_OUTPUT;
  case BufferRole::constant:
    return plan::BUFFER_ROLE_CONSTANT;
  }
  return plan::BUFFER_ROLE_UNSPECIFIED;
}

/// `value` as the host lays it out: f32 and i32 four bytes each, i1 one byte each.
FailureOr<std::string> hostBytesOf(ElementsAttr value) {
  FailureOr<std::vector<int32_t>> words = elementWords(value);
  if (failed(words))
    return failure();
  std::string bytes;
  for (int32_t word : *words) {
    if (value.getElementType().isInteger(1))
      bytes.push_back(static_cast<char>(word));
    else
      appendWord(bytes, static_cast<uint32_t>(word));
  }
  return bytes;
}

class Serializer {
public:
  explicit Serializer(PlanOp plan) : plan_(plan) {}
  FailureOr<plan::Plan> run(std::string graphModule);

private:
  LogicalResult addKernel(KernelOp kernel);
  plan::TensorSpec spec(StringRef name, Type type, Value buffer);
  LogicalResult addProgram(ProgramOp program, plan::Step &step);

  PlanOp plan_;
  plan::Plan out_;
  bool vulkan_ = false, cuda_ = false, cpu_ = false;
  llvm::DenseMap<Value, uint32_t> bufferIndex_;
  llvm::StringMap<uint32_t> kernelIndex_, inputIndex_;
};

plan::TensorSpec Serializer::spec(StringRef name, Type type, Value buffer) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  plan::TensorSpec result;
  result.set_name(name.str());
  result.set_dtype(dtypeOf(tensor.getElementType()));
  for (int64_t extent : tensor.getShape())
    result.add_shape(extent);
  result.set_buffer(bufferIndex_.lookup(buffer));
  return result;
}

LogicalResult Serializer::addKernel(KernelOp kernel) {
  if (vulkan_ && !kernel.getSpirv())
    return kernel.emitOpError("has no SPIR-V but the plan targets vulkan; run "
                              "kiln-exec-compile-targets before serializing");
  if (cuda_ && !kernel.getPtx())
    return kernel.emitOpError("has no PTX but the plan targets cuda; run "
                              "kiln-exec-compile-targets before serializing");
  if (cpu_ && !kernel.getCpuEntries())
    return kernel.emitOpError("has no CPU entries but the plan targets cpu; run "
                              "kiln-exec-compile-targets before serializing");
  plan::Kernel &entry = *out_.add_kernels();
  entry.set_name(kernel.getSymName().str());
  entry.set_entry_point(kernel.getEntryPoint().value_or(kernel.getSymName()).str());
  if (std::optional<StringRef> spirv = kernel.getSpirv())
    entry.set_spirv(spirv->str());
  llvm::ArrayRef<int32_t> workgroup = kernel.getWorkgroup();
  entry.mutable_workgroup_size()->set_x(workgroup[0]);
  entry.mutable_workgroup_size()->set_y(workgroup[1]);
  entry.mutable_workgroup_size()->set_z(workgroup[2]);
  entry.set_binding_count(kernel.getBindingCount());
  entry.set_push_constant_size(static_cast<uint32_t>(kernel.getPushConstantSize().value_or(0)));
  if (std::optional<ArrayAttr> sources = kernel.getSourceOps())
    for (Attribute source : *sources) {
      auto pair = llvm::cast<ArrayAttr>(source);
      plan::SourceOp &op = *entry.add_source_ops();
      op.set_op_name(llvm::cast<StringAttr>(pair[0]).str());
      if (pair.size() > 1)
        op.set_location(llvm::cast<StringAttr>(pair[1]).str());
    }
  if (std::optional<DictionaryAttr> ptx = kernel.getPtx())
    for (NamedAttribute code : *ptx) {
      plan::PtxCode &entryCode = *entry.add_ptx_code();
      entryCode.set_arch(code.getName().str());
      entryCode.set_ptx(llvm::cast<StringAttr>(code.getValue()).str());
    }
  if (std::optional<llvm::ArrayRef<int32_t>> pairs = kernel.getInPlace())
    for (size_t index = 0; index + 1 < pairs->size(); index += 2) {
      plan::InPlacePair &pair = *entry.add_in_place();
      pair.set_output_binding((*pairs)[index]);
      pair.set_input_binding((*pairs)[index + 1]);
    }
  if (std::optional<ArrayAttr> cpuEntries = kernel.getCpuEntries())
    for (Attribute attr : *cpuEntries) {
      auto dict = llvm::cast<DictionaryAttr>(attr);
      plan::CpuEntry &cpu = *entry.add_cpu_entries();
      cpu.set_isa(dict.getAs<StringAttr>("isa").str());
      cpu.set_offset(static_cast<uint64_t>(dict.getAs<IntegerAttr>("offset").getInt()));
      cpu.set_tile_count(static_cast<uint32_t>(dict.getAs<IntegerAttr>("tile_count").getInt()));
      cpu.set_scratch_bytes(
          static_cast<uint64_t>(dict.getAs<IntegerAttr>("scratch_bytes").getInt()));
    }
  entry.set_kind(kernel.getKind().str());
  if (std::optional<ArrayAttr> layers = kernel.getLayers())
    for (Attribute layer : *layers)
      entry.add_layers(llvm::cast<StringAttr>(layer).str());
  // The plan records written bindings as a count of leading ones; a kernel whose writes do
  // not lead (only hand-built plans have such) records none and is read from its SPIR-V.
  uint32_t leading = 0;
  while (leading < kernel.getBindingCount() && kernel.writes(leading))
    ++leading;
  bool prefix = true;
  for (uint32_t binding = leading; binding < kernel.getBindingCount(); ++binding)
    prefix = prefix && !kernel.writes(binding);
  entry.set_output_bindings(prefix ? leading : 0);
  entry.set_compute_ops(static_cast<uint32_t>(kernel.getComputeOps().value_or(0)));
  kernelIndex_[kernel.getSymName()] = static_cast<uint32_t>(out_.kernels_size() - 1);
  return success();
}

LogicalResult Serializer::addProgram(ProgramOp program, plan::Step &step) {
  step.set_name(program.getSymName().str());
  if (!program.getImplicitIo())
    for (Attribute name : program.getInputs())
      step.add_inputs(inputIndex_.lookup(llvm::cast<StringAttr>(name).getValue()));
  for (Operation &op : program.getBlock()) {
    if (auto output = llvm::dyn_cast<OutputOp>(op)) {
      *out_.add_outputs()->mutable_tensor() =
          spec(output.getName(), output.getType(), output.getBuffer());
      if (!program.getImplicitIo())
        step.add_outputs(static_cast<uint32_t>(out_.outputs_size() - 1));
    } else if (auto dispatch = llvm::dyn_cast<DispatchOp>(op)) {
      plan::Dispatch &entry = *step.add_commands()->mutable_dispatch();
      entry.set_kernel(kernelIndex_.lookup(dispatch.getKernel()));
      for (Value buffer : dispatch.getBuffers())
        entry.add_buffers(bufferIndex_.lookup(buffer));
      if (std::optional<llvm::ArrayRef<int32_t>> push = dispatch.getPushConstants())
        for (int32_t word : *push)
          appendWord(*entry.mutable_push_constants(), static_cast<uint32_t>(word));
      llvm::ArrayRef<int32_t> groups = dispatch.getGroups();
      entry.mutable_group_count()->set_x(groups[0]);
      entry.mutable_group_count()->set_y(groups[1]);
      entry.mutable_group_count()->set_z(groups[2]);
    } else if (auto copy = llvm::dyn_cast<CopyOp>(op)) {
      plan::Copy &entry = *step.add_commands()->mutable_copy();
      entry.set_src_buffer(bufferIndex_.lookup(copy.getSource()));
      entry.set_dst_buffer(bufferIndex_.lookup(copy.getTarget()));
      entry.set_size_bytes(static_cast<uint64_t>(copy.getSize()));
    } else if (llvm::isa<BarrierOp>(op)) {
      step.add_commands()->mutable_barrier();
    }
  }
  return success();
}

FailureOr<plan::Plan> Serializer::run(std::string graphModule) {
  plan::Metadata &metadata = *out_.mutable_metadata();
  metadata.set_model_name(plan_.getSymName().str());
  metadata.set_compiler_version(plan_.getCompiler().str());
  for (Attribute target : plan_.getTargets()) {
    StringRef name = llvm::cast<StringAttr>(target).getValue();
    metadata.add_targets(name == "vulkan" ? plan::TARGET_VULKAN
                         : name == "cuda" ? plan::TARGET_CUDA
                                          : plan::TARGET_CPU);
    vulkan_ = vulkan_ || name == "vulkan";
    cuda_ = cuda_ || name == "cuda";
    cpu_ = cpu_ || name == "cpu";
  }
  if (std::optional<DictionaryAttr> images = plan_.getCpuImages())
    for (NamedAttribute image : *images) {
      plan::CpuImage &entry = *out_.add_cpu_images();
      entry.set_isa(image.getName().str());
      StringRef code = llvm::cast<StringAttr>(image.getValue()).getValue();
      entry.set_code(code.str());
      std::array<uint8_t, 32> digest = llvm::SHA256::hash(
          llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(code.data()), code.size()));
      entry.set_sha256(std::string(digest.begin(), digest.end()));
    }
  metadata.set_source_ir_hash(plan_.getSourceHash().value_or("").str());
  if (std::optional<llvm::ArrayRef<int32_t>> features = plan_.getFeatures())
    for (int32_t feature : *features)
      out_.add_required_features(static_cast<plan::DeviceFeature>(feature));

  for (Operation &op : plan_.getBlock()) {
    if (auto buffer = llvm::dyn_cast<BufferOp>(op)) {
      plan::Buffer &entry = *out_.add_buffers();
      entry.set_name(buffer.getName().str());
      entry.set_size_bytes(static_cast<uint64_t>(buffer.getSize()));
      entry.set_role(roleOf(buffer.getRole()));
      entry.set_in_arena(buffer.getOffset().has_value());
      entry.set_arena_offset(static_cast<uint64_t>(buffer.getOffset().value_or(0)));
      if (std::optional<llvm::ArrayRef<int32_t>> data = buffer.getData())
        for (int32_t word : *data)
          appendWord(*entry.mutable_constant_data(), static_cast<uint32_t>(word));
      bufferIndex_[buffer.getResult()] = static_cast<uint32_t>(out_.buffers_size() - 1);
    } else if (auto kernel = llvm::dyn_cast<KernelOp>(op)) {
      if (failed(addKernel(kernel)))
        return failure();
    }
  }
  for (auto input : plan_.getBlock().getOps<InputOp>()) {
    plan::Input &entry = *out_.add_inputs();
    *entry.mutable_tensor() = spec(input.getName(), input.getType(), input.getBuffer());
    if (std::optional<ElementsAttr> value = input.getDefaultValue()) {
      FailureOr<std::string> bytes = hostBytesOf(*value);
      if (failed(bytes))
        return input.emitOpError("has a default value that cannot be encoded: ") << *value;
      entry.set_default_value(*std::move(bytes));
    }
    inputIndex_[input.getName()] = static_cast<uint32_t>(out_.inputs_size() - 1);
  }
  for (auto variable : plan_.getBlock().getOps<VariableOp>()) {
    plan::Variable &entry = *out_.add_variables();
    *entry.mutable_tensor() = spec(variable.getName(), variable.getType(), variable.getBuffer());
    entry.set_trainable(variable.getTrainable());
    InitAttr init = variable.getInit();
    plan::Initializer &initializer = *entry.mutable_initializer();
    initializer.set_distribution(
        static_cast<plan::Initializer::Distribution>(static_cast<int>(init.getDistribution())));
    initializer.set_a(init.getA().convertToDouble());
    initializer.set_b(init.getB().convertToDouble());
    initializer.set_seed(init.getSeed());
    initializer.set_stream(init.getStream());
  }
  for (ProgramOp program : programsOf(plan_)) {
    plan::Step &step =
        program.getSymName() == "train" ? *out_.mutable_step() : *out_.add_programs();
    if (failed(addProgram(program, step)))
      return failure();
  }
  out_.set_graph_module(std::move(graphModule));
  if (plan_.getArenaBytes() || plan_.getElidedCopies() || plan_.getNaiveBytes() ||
      plan_.getAlignment() || plan_.getPeakLiveBytes() || plan_.getInPlaceReuses()) {
    plan::MemorySummary &memory = *out_.mutable_memory();
    memory.set_arena_bytes(static_cast<uint64_t>(plan_.getArenaBytes().value_or(0)));
    memory.set_peak_live_bytes(static_cast<uint64_t>(plan_.getPeakLiveBytes().value_or(0)));
    memory.set_naive_bytes(static_cast<uint64_t>(plan_.getNaiveBytes().value_or(0)));
    memory.set_alignment(static_cast<uint32_t>(plan_.getAlignment().value_or(0)));
    memory.set_elided_copies(static_cast<uint32_t>(plan_.getElidedCopies().value_or(0)));
    memory.set_in_place_reuses(static_cast<uint32_t>(plan_.getInPlaceReuses().value_or(0)));
  }
  return std::move(out_);
}

} // namespace

FailureOr<plan::Plan> serializePlan(PlanOp plan, std::string graphModule) {
  return Serializer(plan).run(std::move(graphModule));
}

} // namespace kiln::exec
