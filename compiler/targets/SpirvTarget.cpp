//===- SpirvTarget.cpp - gpu.module kernel -> SPIR-V for Vulkan 1.1 ------===//
//
// Lowers a clone of the kernel module in four steps:
//  1. prepare the clone for upstream's GPU-to-SPIR-V patterns: attach a Vulkan target
//     environment, give argument i the ABI (descriptor set 0, binding i), derive the
//     entry point ABI from `known_block_size` when it is missing, and turn workgroup
//     attributions (which the patterns do not handle) into workgroup `memref.alloc`s,
//     which they lower to Workgroup-storage globals;
//  2. map memref memory spaces to Vulkan storage classes (`#gpu.address_space<workgroup>`
//     -> Workgroup, default -> StorageBuffer);
//  3. the patterns of convert-gpu-to-spirv{use-64bit-index=false} plus math, index and cf
//     (upstream's pass leaves math ops illegal), applied as one full conversion, after
//     math ops SPIR-V has no instruction for (math.erf) are expanded into arith with
//     MLIR's polynomial approximations;
//  4. spirv.module(spirv-lower-abi-attrs, spirv-update-vce), then serialize in process.
//
//===----------------------------------------------------------------------===//
#include "kiln/Targets/KernelTargets.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Conversion/ArithToSPIRV/ArithToSPIRV.h"
#include "mlir/Conversion/ControlFlowToSPIRV/ControlFlowToSPIRV.h"
#include "mlir/Conversion/FuncToSPIRV/FuncToSPIRV.h"
#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRV.h"
#include "mlir/Conversion/IndexToSPIRV/IndexToSPIRV.h"
#include "mlir/Conversion/MathToSPIRV/MathToSPIRV.h"
#include "mlir/Conversion/MemRefToSPIRV/MemRefToSPIRV.h"
#include "mlir/Conversion/SCFToSPIRV/SCFToSPIRV.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Dialect/SPIRV/Transforms/SPIRVConversion.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace kiln::targets {

/// Vulkan 1.1 (SPIR-V 1.3) with what every Vulkan compute device offers; spirv-update-vce
/// later trims the module's requirements to what it uses.
static constexpr llvm::StringLiteral kVulkanTargetEnv =
    "#spirv.target_env<#spirv.vce<v1.3, [Shader], [SPV_KHR_storage_buffer_storage_class]>,"
    " api=Vulkan, #spirv.resource_limits<max_compute_shared_memory_size = 32768,"
    " max_compute_workgroup_invocations = 1024,"
    " max_compute_workgroup_size = [1024, 1024, 64]>>";

/// Step 1: makes the cloned kernel `func` acceptable to upstream's GPU-to-SPIR-V patterns.
static LogicalResult prepareForSpirv(gpu::GPUModuleOp module, gpu::GPUFuncOp func) {
  MLIRContext *context = module.getContext();
  module->setAttr(spirv::getTargetEnvAttrName(), parseAttribute(kVulkanTargetEnv, context));
  for (unsigned index = 0, end = func.getNumArguments(); index < end; ++index)
    func.setArgAttr(index, spirv::getInterfaceVarABIAttrName(),
                    spirv::getInterfaceVarABIAttr(/*descriptorSet=*/0, /*binding=*/index,
                                                  std::nullopt, context));

  if (!func->hasAttr(spirv::getEntryPointABIAttrName())) {
    std::optional<llvm::ArrayRef<int32_t>> blockSize = func.getKnownBlockSize();
    if (!blockSize)
      return func.emitError("kernel @")
             << func.getName() << " has neither spirv.entry_point_abi nor known_block_size";
    func->setAttr(spirv::getEntryPointABIAttrName(),
                  spirv::getEntryPointABIAttr(context, *blockSize));
  }

  // Workgroup attributions become allocations at the top of the body; the entry block
  // keeps only the kernel arguments.
  Block &entry = func.getBody().front();
  OpBuilder builder = OpBuilder::atBlockBegin(&entry);
  unsigned first = func.getFirstWorkgroupAttributionIndex();
  unsigned count = func.getNumWorkgroupAttributions();
  for (unsigned index = 0; index < count; ++index) {
    BlockArgument attribution = entry.getArgument(first + index);
    auto alloc = builder.create<memref::AllocOp>(attribution.getLoc(),
                                                 cast<MemRefType>(attribution.getType()));
    attribution.replaceAllUsesWith(alloc.getResult());
  }
  for (unsigned index = count; index > 0; --index)
    entry.eraseArgument(first + index - 1);
  func->setAttr(gpu::GPUFuncOp::getNumWorkgroupAttributionsAttrName(),
                builder.getI64IntegerAttr(0));
  func->removeAttr("workgroup_attrib_attrs");
  return success();
}

/// Vulkan's storage class for a memref memory space, knowing the GPU dialect's spaces.
static std::optional<spirv::StorageClass> vulkanStorageClass(Attribute memorySpace) {
  if (auto gpuSpace = dyn_cast_or_null<gpu::AddressSpaceAttr>(memorySpace)) {
    switch (gpuSpace.getValue()) {
    case gpu::AddressSpace::Global:
      return spirv::StorageClass::StorageBuffer;
    case gpu::AddressSpace::Workgroup:
      return spirv::StorageClass::Workgroup;
    case gpu::AddressSpace::Private:
      return spirv::StorageClass::Private;
    }
  }
  return spirv::mapMemorySpaceToVulkanStorageClass(memorySpace);
}

/// Before step 3: math ops without a SPIR-V lowering (erf) as polynomial approximations.
static LogicalResult expandMathWithoutSpirv(gpu::GPUModuleOp module) {
  RewritePatternSet patterns(module.getContext());
  populatePolynomialApproximateErfPattern(patterns);
  return applyPatternsAndFoldGreedily(module, std::move(patterns));
}

/// Step 3: the GPU, arith, math, index, memref, scf, cf and func patterns as one full
/// conversion of `module` into a spirv.module.
static LogicalResult convertToSpirvDialect(gpu::GPUModuleOp module) {
  spirv::TargetEnvAttr targetEnv = spirv::lookupTargetEnvOrDefault(module);
  std::unique_ptr<ConversionTarget> target = SPIRVConversionTarget::get(targetEnv);
  SPIRVConversionOptions options;
  options.use64bitIndex = false;
  SPIRVTypeConverter typeConverter(targetEnv, options);

  RewritePatternSet patterns(module.getContext());
  ScfToSPIRVContext scfContext;
  populateGPUToSPIRVPatterns(typeConverter, patterns);
  arith::populateArithToSPIRVPatterns(typeConverter, patterns);
  cf::populateControlFlowToSPIRVPatterns(typeConverter, patterns);
  populateFuncToSPIRVPatterns(typeConverter, patterns);
  index::populateIndexToSPIRVPatterns(typeConverter, patterns);
  populateMathToSPIRVPatterns(typeConverter, patterns);
  populateMemRefToSPIRVPatterns(typeConverter, patterns);
  populateSCFToSPIRVPatterns(typeConverter, scfContext, patterns);
  return applyFullConversion(module.getOperation(), *target, std::move(patterns));
}

FailureOr<std::vector<uint32_t>> lowerToSpirv(gpu::GPUModuleOp kernel) {
  FailureOr<gpu::GPUFuncOp> original = detail::verifyKernelAbi(kernel);
  if (failed(original))
    return failure();
  std::string name = original->getName().str();
  auto fail = [&](llvm::StringRef step) {
    return kernel.emitError("lowering kernel @") << name << " to SPIR-V failed in " << step;
  };

  MLIRContext *context = kernel.getContext();
  context->loadDialect<spirv::SPIRVDialect>();
  OwningOpRef<ModuleOp> holder = ModuleOp::create(kernel.getLoc());
  auto module = cast<gpu::GPUModuleOp>(kernel->clone());
  holder->push_back(module);
  auto func = module.lookupSymbol<gpu::GPUFuncOp>(name);
  if (failed(prepareForSpirv(module, func)))
    return failure();

  spirv::MemorySpaceToStorageClassConverter storageClasses(vulkanStorageClass);
  spirv::convertMemRefTypesAndAttrs(module, storageClasses);
  if (failed(expandMathWithoutSpirv(module)))
    return fail("the expansion of math ops SPIR-V lacks");
  if (failed(convertToSpirvDialect(module)))
    return fail("the conversion to the SPIR-V dialect");

  PassManager pm(context);
  OpPassManager &spirvPm = pm.nest<spirv::ModuleOp>();
  spirvPm.addPass(spirv::createSPIRVLowerABIAttributesPass());
  spirvPm.addPass(spirv::createSPIRVUpdateVCEPass());
  if (failed(pm.run(*holder)))
    return fail("spirv-lower-abi-attrs/spirv-update-vce");

  auto spirvModules = holder->getOps<spirv::ModuleOp>();
  if (spirvModules.empty())
    return fail("the conversion to the SPIR-V dialect (no spirv.module)");
  SmallVector<uint32_t, 0> words;
  if (failed(spirv::serialize(*spirvModules.begin(), words)))
    return fail("serialization");
  return std::vector<uint32_t>(words.begin(), words.end());
}

} // namespace kiln::targets
