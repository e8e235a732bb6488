//===- Import.cpp - The protobuf plan as an exec.plan ---------------------===//
//
// The serializer's inverse, for plans that come from a file or a test rather
// than from plan assembly: `kiln inspect --exec` prints a compiled plan as IR,
// and memory::planMemory runs the exec passes over hand-built plans. Every
// field the serializer writes is read back, so import then serialize gives the
// plan's own bytes for every plan the compiler makes.
//
//===----------------------------------------------------------------------===//

#include "kiln/Exec/Serialize.h"

#include "kiln/runtime/PlanValidation.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"

#include <vector>

using namespace mlir;

namespace kiln::exec {
namespace {

uint32_t wordAt(const std::string &bytes, size_t index) {
  uint32_t word = 0;
  for (int byte = 0; byte < 4; ++byte)
    word |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[index * 4 + byte])) << (8 * byte);
  return word;
}

std::vector<int32_t> wordsOf(const std::string &bytes) {
  std::vector<int32_t> words(bytes.size() / 4);
  for (size_t index = 0; index < words.size(); ++index)
    words[index] = static_cast<int32_t>(wordAt(bytes, index));
  return words;
}

Type elementTypeOf(Builder &builder, plan::DType dtype) {
  switch (dtype) {
  case plan::DTYPE_F32:
    return builder.getF32Type();
  case plan::DTYPE_I32:
    return builder.getI32Type();
  case plan::DTYPE_I1:
    return builder.getI1Type();
  default:
    return Type();
  }
}

BufferRole roleOf(plan::BufferRole role) {
  switch (role) {
  case plan::BUFFER_ROLE_VARIABLE:
    return BufferRole::variable;
  case plan::BUFFER_ROLE_INPUT:
    return BufferRole::input;
  case plan::BUFFER_ROLE_OUTPUT:
    return BufferRole::output;
  case plan::BUFFER_ROLE_CONSTANT:
    return BufferRole::constant;
  default:
    return BufferRole::transient;
  }
}

class Importer {
public:
  Importer(const plan::Plan &plan, ModuleOp module)
      : plan_(plan), module_(module), builder_(module.getContext()), loc_(module.getLoc()) {}
  FailureOr<PlanOp> run();

private:
  FailureOr<RankedTensorType> typeOf(const plan::TensorSpec &spec);
  void addKernel(const plan::Kernel &kernel);
  LogicalResult addProgram(const plan::Step &step, bool train,
                           const std::vector<bool> &listedElsewhere);

  const plan::Plan &plan_;
  ModuleOp module_;
  OpBuilder builder_;
  Location loc_;
  PlanOp result_;
  std::vector<Value> buffers_;
};

FailureOr<RankedTensorType> Importer::typeOf(const plan::TensorSpec &spec) {
  Type element = elementTypeOf(builder_, spec.dtype());
  if (!element)
    return emitError(loc_, "plan tensor '")
           << spec.name() << "' has a dtype (" << plan::DType_Name(spec.dtype())
           << ") an exec plan cannot hold; it holds f32, i32 and i1";
  return RankedTensorType::get(llvm::to_vector(spec.shape()), element);
}

void Importer::addKernel(const plan::Kernel &kernel) {
  std::vector<bool> written = plan::declaredWrittenBindings(kernel);
  llvm::SmallVector<bool> access(written.begin(), written.end());
  llvm::SmallVector<int32_t> workgroup = {static_cast<int32_t>(kernel.workgroup_size().x()),
                                          static_cast<int32_t>(kernel.workgroup_size().y()),
                                          static_cast<int32_t>(kernel.workgroup_size().z())};
  auto op = builder_.create<KernelOp>(
      loc_, kernel.name(), kernel.kind(), builder_.getDenseBoolArrayAttr(access),
      builder_.getDenseI32ArrayAttr(workgroup), FlatSymbolRefAttr(), StringAttr(),
      DenseI32ArrayAttr(), ArrayAttr(), IntegerAttr(), ArrayAttr(), IntegerAttr(), StringAttr(),
      DictionaryAttr(), FlatSymbolRefAttr(), IntegerAttr(), ArrayAttr());
  if (kernel.entry_point() != kernel.name())
    op.setEntryPoint(kernel.entry_point());
  if (kernel.in_place_size() > 0) {
    llvm::SmallVector<int32_t> pairs;
    for (const plan::InPlacePair &pair : kernel.in_place()) {
      pairs.push_back(static_cast<int32_t>(pair.output_binding()));
      pairs.push_back(static_cast<int32_t>(pair.input_binding()));
    }
    op.setInPlaceAttr(builder_.getDenseI32ArrayAttr(pairs));
  }
  if (kernel.layers_size() > 0)
    op.setLayersAttr(builder_.getStrArrayAttr(llvm::to_vector_of<StringRef>(
        llvm::map_range(kernel.layers(), [](const std::string &s) { return StringRef(s); }))));
  op.setComputeOpsAttr(builder_.getI64IntegerAttr(kernel.compute_ops()));
  if (kernel.source_ops_size() > 0) {
    llvm::SmallVector<Attribute> sources;
    for (const plan::SourceOp &source : kernel.source_ops())
      sources.push_back(builder_.getStrArrayAttr({source.op_name(), source.location()}));
    op.setSourceOpsAttr(builder_.getArrayAttr(sources));
  }
  if (kernel.push_constant_size() > 0)
    op.setPushConstantSizeAttr(builder_.getI64IntegerAttr(kernel.push_constant_size()));
  if (!kernel.spirv().empty())
    op.setSpirvAttr(builder_.getStringAttr(kernel.spirv()));
  if (kernel.ptx_code_size() > 0) {
    llvm::SmallVector<NamedAttribute> entries;
    for (const plan::PtxCode &code : kernel.ptx_code())
      entries.push_back(builder_.getNamedAttr(code.arch(), builder_.getStringAttr(code.ptx())));
    op.setPtxAttr(builder_.getDictionaryAttr(entries));
  }
  if (kernel.cpu_entries_size() > 0) {
    llvm::SmallVector<Attribute> entries;
    for (const plan::CpuEntry &entry : kernel.cpu_entries())
      entries.push_back(builder_.getDictionaryAttr({
          builder_.getNamedAttr("isa", builder_.getStringAttr(entry.isa())),
          builder_.getNamedAttr("offset",
                                builder_.getI64IntegerAttr(static_cast<int64_t>(entry.offset()))),
          builder_.getNamedAttr("tile_count", builder_.getI64IntegerAttr(entry.tile_count())),
          builder_.getNamedAttr("scratch_bytes", builder_.getI64IntegerAttr(
                                                     static_cast<int64_t>(entry.scratch_bytes()))),
      }));
    op.setCpuEntriesAttr(builder_.getArrayAttr(entries));
  }
}

LogicalResult Importer::addProgram(const plan::Step &step, bool train,
                                   const std::vector<bool> &listedElsewhere) {
  bool implicit = train && step.inputs_size() == 0 && step.outputs_size() == 0;
  llvm::SmallVector<StringRef> inputs;
  for (uint32_t index : step.inputs())
    inputs.push_back(plan_.inputs(index).tensor().name());
  OpBuilder top = OpBuilder::atBlockEnd(&result_.getBlock());
  auto program = top.create<ProgramOp>(loc_, train ? "train" : step.name(),
                                       top.getStrArrayAttr(inputs), implicit);
  program.getBody().emplaceBlock();
  OpBuilder body = OpBuilder::atBlockEnd(&program.getBlock());
  auto addOutput = [&](uint32_t index) -> LogicalResult {
    const plan::TensorSpec &tensor = plan_.outputs(index).tensor();
    FailureOr<RankedTensorType> type = typeOf(tensor);
    if (failed(type))
      return failure();
    body.create<OutputOp>(loc_, tensor.name(), buffers_[tensor.buffer()], *type);
    return success();
  };
  if (implicit) {
    for (int index = 0; index < plan_.outputs_size(); ++index)
      if (!listedElsewhere[index] && failed(addOutput(index)))
        return failure();
  } else {
    for (uint32_t index : step.outputs())
      if (failed(addOutput(index)))
        return failure();
  }
  for (const plan::Command &command : step.commands()) {
    if (command.has_barrier()) {
      body.create<BarrierOp>(loc_);
    } else if (command.has_copy()) {
      const plan::Copy &copy = command.copy();
      body.create<CopyOp>(loc_, buffers_[copy.src_buffer()], buffers_[copy.dst_buffer()],
                          static_cast<int64_t>(copy.size_bytes()));
    } else if (command.has_dispatch()) {
      const plan::Dispatch &dispatch = command.dispatch();
      auto kernel = result_.lookupSymbol<KernelOp>(plan_.kernels(dispatch.kernel()).name());
      llvm::SmallVector<Value> bound;
      for (uint32_t buffer : dispatch.buffers())
        bound.push_back(buffers_[buffer]);
      llvm::SmallVector<int32_t> groups = {static_cast<int32_t>(dispatch.group_count().x()),
                                           static_cast<int32_t>(dispatch.group_count().y()),
                                           static_cast<int32_t>(dispatch.group_count().z())};
      DenseI32ArrayAttr push;
      if (!dispatch.push_constants().empty())
        push = body.getDenseI32ArrayAttr(wordsOf(dispatch.push_constants()));
      body.create<DispatchOp>(loc_, kernel.getSymName(), bound, kernel.getWritten(),
                              body.getDenseI32ArrayAttr(groups), push);
    }
  }
  return success();
}

FailureOr<PlanOp> Importer::run() {
  if (absl::Status status = plan::validatePlan(plan_); !status.ok())
    return emitError(loc_, "cannot read the plan as exec IR: ") << status.ToString();
  builder_.setInsertionPointToStart(module_.getBody());
  llvm::SmallVector<StringRef> targets;
  for (int target : plan_.metadata().targets())
    targets.push_back(target == plan::TARGET_VULKAN ? "vulkan"
                      : target == plan::TARGET_CUDA ? "cuda"
                                                    : "cpu");
  result_ = builder_.create<PlanOp>(
      loc_, plan_.metadata().model_name(), builder_.getStrArrayAttr(targets),
      plan_.metadata().compiler_version(), StringAttr(), DenseI32ArrayAttr(), IntegerAttr(),
      IntegerAttr(), IntegerAttr(), IntegerAttr(), IntegerAttr(), IntegerAttr(), DictionaryAttr());
  result_.getBody().emplaceBlock();
  if (plan_.cpu_images_size() > 0) {
    llvm::SmallVector<NamedAttribute> images;
    for (const plan::CpuImage &image : plan_.cpu_images())
      images.push_back(builder_.getNamedAttr(image.isa(), builder_.getStringAttr(image.code())));
    result_.setCpuImagesAttr(builder_.getDictionaryAttr(images));
  }
  if (!plan_.metadata().source_ir_hash().empty())
    result_.setSourceHash(plan_.metadata().source_ir_hash());
  if (plan_.required_features_size() > 0)
    result_.setFeaturesAttr(builder_.getDenseI32ArrayAttr(llvm::to_vector_of<int32_t>(
        llvm::map_range(plan_.required_features(), [](int feature) { return feature; }))));
  if (plan_.has_memory()) {
    const plan::MemorySummary &memory = plan_.memory();
    result_.setArenaBytesAttr(builder_.getI64IntegerAttr(memory.arena_bytes()));
    result_.setPeakLiveBytesAttr(builder_.getI64IntegerAttr(memory.peak_live_bytes()));
    result_.setNaiveBytesAttr(builder_.getI64IntegerAttr(memory.naive_bytes()));
    result_.setAlignmentAttr(builder_.getI64IntegerAttr(memory.alignment()));
    result_.setElidedCopiesAttr(builder_.getI64IntegerAttr(memory.elided_copies()));
    result_.setInPlaceReusesAttr(builder_.getI64IntegerAttr(memory.in_place_reuses()));
  }

  builder_.setInsertionPointToEnd(&result_.getBlock());
  for (const plan::Buffer &buffer : plan_.buffers()) {
    IntegerAttr offset;
    if (buffer.in_arena())
      offset = builder_.getI64IntegerAttr(static_cast<int64_t>(buffer.arena_offset()));
    DenseI32ArrayAttr data;
    if (buffer.role() == plan::BUFFER_ROLE_CONSTANT)
      data = builder_.getDenseI32ArrayAttr(wordsOf(buffer.constant_data()));
    buffers_.push_back(builder_.create<BufferOp>(
        loc_, BufferType::get(module_.getContext()), buffer.name(), roleOf(buffer.role()),
        static_cast<int64_t>(buffer.size_bytes()), offset, data));
  }
  for (const plan::Kernel &kernel : plan_.kernels())
    addKernel(kernel);
  for (const plan::Input &input : plan_.inputs()) {
    FailureOr<RankedTensorType> type = typeOf(input.tensor());
    if (failed(type))
      return failure();
    ElementsAttr value;
    const std::string &bytes = input.default_value();
    if (!bytes.empty()) {
      Type element = type->getElementType();
      int64_t count = type->getNumElements();
      if (element.isInteger(1)) {
        llvm::SmallVector<bool> bits;
        for (int64_t index = 0; index < count; ++index)
          bits.push_back(bytes[index] != 0);
        value = DenseElementsAttr::get(*type, llvm::ArrayRef<bool>(bits));
      } else if (element.isF32()) {
        llvm::SmallVector<APFloat> numbers;
        for (int64_t index = 0; index < count; ++index)
          numbers.push_back(APFloat(APFloat::IEEEsingle(), APInt(32, wordAt(bytes, index))));
        value = DenseElementsAttr::get(*type, numbers);
      } else {
        llvm::SmallVector<APInt> numbers;
        for (int64_t index = 0; index < count; ++index)
          numbers.push_back(APInt(32, wordAt(bytes, index)));
        value = DenseElementsAttr::get(*type, numbers);
      }
    }
    builder_.create<InputOp>(loc_, input.tensor().name(), buffers_[input.tensor().buffer()], *type,
                             value);
  }
  for (const plan::Variable &variable : plan_.variables()) {
    FailureOr<RankedTensorType> type = typeOf(variable.tensor());
    if (failed(type))
      return failure();
    const plan::Initializer &init = variable.initializer();
    auto initAttr = InitAttr::get(
        module_.getContext(), static_cast<Distribution>(static_cast<int>(init.distribution())),
        llvm::APFloat(init.a()), llvm::APFloat(init.b()), init.seed(), init.stream());
    builder_.create<VariableOp>(loc_, variable.tensor().name(),
                                buffers_[variable.tensor().buffer()], *type, initAttr,
                                variable.trainable());
  }
  std::vector<bool> listedElsewhere(plan_.outputs_size(), false);
  for (const plan::Step &program : plan_.programs())
    for (uint32_t index : program.outputs())
      listedElsewhere[index] = true;
  if (failed(addProgram(plan_.step(), /*train=*/true, listedElsewhere)))
    return failure();
  for (const plan::Step &program : plan_.programs())
    if (failed(addProgram(program, /*train=*/false, listedElsewhere)))
      return failure();
  if (failed(verify(result_)))
    return failure();
  return result_;
}

} // namespace

FailureOr<PlanOp> importPlan(const plan::Plan &plan, ModuleOp module) {
  return Importer(plan, module).run();
}

} // namespace kiln::exec
