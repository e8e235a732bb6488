//===- KernelEmitter.cpp - A kernel function as one gpu.func --------------===//
//
// The driver every kind shares: checks the element types, builds the gpu.func
// over flat buffers with the workgroup memory the kind asks for, lets the kind
// emitter (chosen by `graph.kernel`'s kind) write the body, and records the
// launch and the in-place pairs on the gpu.func. Also reads an emitted kernel
// back for the target lowerings.
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"

using namespace mlir;

namespace kiln::kernels {

std::unique_ptr<KernelKindEmitter> createKindEmitter(graph::KernelKind kind) {
  switch (kind) {
  case graph::KernelKind::pointwise:
    return createPointwiseEmitter();
  case graph::KernelKind::multi_tensor:
    return createMultiTensorEmitter();
  case graph::KernelKind::matmul:
    return createMatmulEmitter();
  case graph::KernelKind::reduction:
    return createReductionEmitter();
  case graph::KernelKind::row:
    return createRowEmitter();
  case graph::KernelKind::attention:
    return createAttentionEmitter();
  case graph::KernelKind::mask_pack:
  case graph::KernelKind::mask_unpack:
    return nullptr;
  }
  return nullptr;
}

void setLaunchAttributes(gpu::GPUFuncOp function, std::array<uint32_t, 3> workgroup,
                         std::array<uint32_t, 3> grid,
                         llvm::ArrayRef<std::pair<uint32_t, uint32_t>> inPlace) {
  MLIRContext *context = function.getContext();
  Builder b(context);
  auto i32s = [](std::array<uint32_t, 3> values) {
    return llvm::SmallVector<int32_t, 3>{static_cast<int32_t>(values[0]),
                                         static_cast<int32_t>(values[1]),
                                         static_cast<int32_t>(values[2])};
  };
  function->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  function->setAttr("known_block_size", b.getDenseI32ArrayAttr(i32s(workgroup)));
  function->setAttr(spirv::getEntryPointABIAttrName(),
                    spirv::getEntryPointABIAttr(context, i32s(workgroup)));
  function->setAttr(kGridAttrName, b.getDenseI32ArrayAttr(i32s(grid)));
  llvm::SmallVector<Attribute> pairs;
  for (auto [output, input] : inPlace)
    pairs.push_back(
        b.getDenseI32ArrayAttr({static_cast<int32_t>(output), static_cast<int32_t>(input)}));
  function->setAttr(kInPlaceAttrName, b.getArrayAttr(pairs));
}

std::string gpuModuleName(llvm::StringRef kernelName) { return (kernelName + "_gpu").str(); }

FailureOr<EmittedKernel> emitKernel(func::FuncOp kernel, const TargetConfig &config) {
  auto info = kernel->getAttrOfType<graph::KernelAttr>("graph.kernel");
  if (!info)
    return kernel.emitOpError("is not a kernel formed by kiln-fuse (no graph.kernel attribute)");
  std::unique_ptr<KernelKindEmitter> kind = createKindEmitter(info.getKind());
  if (!kind)
    return kernel.emitOpError("cannot be emitted as a ")
           << info.getKindName() << " kernel: that kind is emitted by the compiler only";
  KernelContext context(kernel, config);
  FailureOr<llvm::SmallVector<MemRefType>> types = prepareKernel(context, info, "a GPU target");
  if (failed(types))
    return failure();
  OpBuilder &b = context.b;
  Location loc = context.loc;
  Block &body = context.body();
  llvm::SmallVector<Type> argumentTypes(types->begin(), types->end());

  auto moduleOp = ModuleOp::create(loc);
  EmittedKernel result;
  result.module = OwningOpRef<ModuleOp>(moduleOp);
  b.setInsertionPointToStart(moduleOp.getBody());
  auto gpuModule = b.create<gpu::GPUModuleOp>(loc, gpuModuleName(kernel.getSymName()));
  b.setInsertionPointToStart(gpuModule.getBody());
  auto workgroupSpace = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  llvm::SmallVector<Type> workgroupTypes;
  for (int64_t elements : kind->workgroupMemory(context))
    workgroupTypes.push_back(
        MemRefType::get({elements}, b.getF32Type(), AffineMap(), workgroupSpace));
  auto function = b.create<gpu::GPUFuncOp>(loc, kernel.getSymName(),
                                           b.getFunctionType(argumentTypes, {}), workgroupTypes);
  Block &entry = function.getBody().front();
  for (unsigned i = 0; i < context.returned.size(); ++i)
    context.outputs.push_back(entry.getArgument(i));
  for (unsigned i = 0; i < body.getNumArguments(); ++i)
    context.inputs.push_back(entry.getArgument(context.returned.size() + i));
  for (BlockArgument attribution : function.getWorkgroupAttributions())
    context.workgroupBuffers.push_back(attribution);
  b.setInsertionPointToStart(&entry);
  if (failed(kind->emit(context)))
    return failure();
  b.setInsertionPointToEnd(&entry);
  b.create<gpu::ReturnOp>(loc);

  result.gpuModule = gpuModule;
  result.workgroupSize = context.workgroup;
  result.groupCount = context.grid;
  result.inPlace = context.inPlacePairs();
  setLaunchAttributes(function, result.workgroupSize, result.groupCount, result.inPlace);
  return result;
}

FailureOr<EmittedKernel> takeEmittedKernel(gpu::GPUModuleOp gpuModule) {
  auto functions = gpuModule.getOps<gpu::GPUFuncOp>();
  if (std::distance(functions.begin(), functions.end()) != 1)
    return gpuModule.emitOpError("internal compiler error: an emitted kernel module holds ")
           << "other than one gpu.func";
  gpu::GPUFuncOp function = *functions.begin();
  auto block = function->getAttrOfType<DenseI32ArrayAttr>("known_block_size");
  auto grid = function->getAttrOfType<DenseI32ArrayAttr>(kGridAttrName);
  auto inPlace = function->getAttrOfType<ArrayAttr>(kInPlaceAttrName);
  if (!block || block.size() != 3 || !grid || grid.size() != 3 || !inPlace)
    return function.emitOpError("internal compiler error: an emitted kernel without its ")
           << "known_block_size, " << kGridAttrName << " or " << kInPlaceAttrName;
  EmittedKernel result;
  for (int d = 0; d < 3; ++d) {
    result.workgroupSize[d] = static_cast<uint32_t>(block[d]);
    result.groupCount[d] = static_cast<uint32_t>(grid[d]);
  }
  for (Attribute pair : inPlace) {
    auto bindings = llvm::dyn_cast<DenseI32ArrayAttr>(pair);
    if (!bindings || bindings.size() != 2)
      return function.emitOpError("internal compiler error: a malformed ") << kInPlaceAttrName;
    result.inPlace.push_back(
        {static_cast<uint32_t>(bindings[0]), static_cast<uint32_t>(bindings[1])});
  }
  OpBuilder b(gpuModule.getContext());
  auto moduleOp = ModuleOp::create(gpuModule.getLoc());
  result.module = OwningOpRef<ModuleOp>(moduleOp);
  b.setInsertionPointToStart(moduleOp.getBody());
  auto copy = llvm::cast<gpu::GPUModuleOp>(b.clone(*gpuModule));
  copy.setName("kernels");
  for (gpu::GPUFuncOp copied : copy.getOps<gpu::GPUFuncOp>()) {
    copied->removeAttr(kGridAttrName);
    copied->removeAttr(kInPlaceAttrName);
  }
  result.gpuModule = copy;
  return result;
}

void registerKernelEmitterDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, gpu::GPUDialect, math::MathDialect, memref::MemRefDialect,
                  scf::SCFDialect, spirv::SPIRVDialect>();
}

} // namespace kiln::kernels
