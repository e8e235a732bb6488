//===- NvptxTarget.cpp - gpu.module kernel -> PTX ------------------------===//
//
// Lowers a clone of the kernel module with
//   convert-scf-to-cf,
//   nvvm-attach-target{chip=<arch> features=+ptx80 O=3},
//   gpu.module(convert-gpu-to-nvvm{index-bitwidth=64 use-bare-ptr-memref-call-conv=true},
//              canonicalize, cse, reconcile-unrealized-casts),
//   gpu-module-to-binary{format=isa toolkit=/usr/local/cuda}
// and returns the PTX the binary object carries. Several architectures share one lowering to
// NVVM: each is one attached target, serialized to its own object. Math ops become libdevice calls
// (__nv_expf, ...) that gpu-module-to-binary links from the toolkit's libdevice.10.bc,
// except f32 sqrt: LLVM 19's NVVMReflect leaves __CUDA_PREC_SQRT at 0, so __nv_sqrtf would
// become sqrt.approx.f32. Between convert-gpu-to-nvvm and gpu-module-to-binary its calls are
// replaced by llvm.intr.sqrt, which the NVPTX backend emits as the correctly rounded
// sqrt.rn.f32.
//
//===----------------------------------------------------------------------===//
#include "kiln/Targets/KernelTargets.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"

using namespace mlir;

namespace kiln::targets {

/// The CUDA toolkit whose libdevice is linked: $CUDA_HOME if set, else /usr/local/cuda
/// when present, else MLIR's built-in default.
static std::string cudaToolkitPath() {
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return home;
  if (llvm::sys::fs::is_directory("/usr/local/cuda/nvvm/libdevice"))
    return "/usr/local/cuda";
  return "";
}

/// Replaces calls of libdevice's __nv_sqrtf by llvm.intr.sqrt (see the file comment).
static void useCorrectlyRoundedSqrt(ModuleOp holder) {
  holder.walk([](LLVM::CallOp call) {
    if (call.getCallee() != "__nv_sqrtf" || call.getNumOperands() != 1)
      return;
    OpBuilder builder(call);
    auto sqrt = builder.create<LLVM::SqrtOp>(call.getLoc(), call.getOperand(0));
    call.getResult().replaceAllUsesWith(sqrt.getResult());
    call.erase();
  });
}

FailureOr<std::vector<std::string>> lowerToPtx(gpu::GPUModuleOp kernel,
                                               llvm::ArrayRef<llvm::StringRef> archs) {
  for (llvm::StringRef arch : archs)
    if (arch != "sm_80" && arch != "sm_90")
      return kernel.emitError("unsupported CUDA architecture '")
             << arch << "'; expected sm_80 or sm_90";
  FailureOr<gpu::GPUFuncOp> func = detail::verifyKernelAbi(kernel);
  if (failed(func))
    return failure();
  std::string name = func->getName().str();
  std::string archList = llvm::join(archs, ", ");

  MLIRContext *context = kernel.getContext();
  context->loadDialect<LLVM::LLVMDialect>();
  OwningOpRef<ModuleOp> holder = ModuleOp::create(kernel.getLoc());
  holder.get()->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(context));
  auto module = cast<gpu::GPUModuleOp>(kernel->clone());
  holder->push_back(module);

  // One NVVM lowering serves every architecture: each attached target is one object below.
  PassManager pm(context);
  pm.addPass(createConvertSCFToCFPass());
  for (llvm::StringRef arch : archs) {
    GpuNVVMAttachTargetOptions targetOptions;
    targetOptions.chip = arch.str();
    targetOptions.features = "+ptx80";
    targetOptions.optLevel = 3;
    pm.addPass(createGpuNVVMAttachTarget(targetOptions));
  }
  ConvertGpuOpsToNVVMOpsOptions nvvmOptions;
  nvvmOptions.indexBitwidth = 64;
  nvvmOptions.useBarePtrCallConv = true;
  OpPassManager &gpuPm = pm.nest<gpu::GPUModuleOp>();
  gpuPm.addPass(createConvertGpuOpsToNVVMOps(nvvmOptions));
  gpuPm.addPass(createCanonicalizerPass());
  gpuPm.addPass(createCSEPass());
  gpuPm.addPass(createReconcileUnrealizedCastsPass());
  if (failed(pm.run(*holder)))
    return kernel.emitError("lowering kernel @")
           << name << " to NVVM for " << archList << " failed";
  useCorrectlyRoundedSqrt(*holder);

  PassManager binaryPm(context);
  GpuModuleToBinaryPassOptions binaryOptions;
  binaryOptions.compilationTarget = "isa";
  binaryOptions.toolkitPath = cudaToolkitPath();
  binaryPm.addPass(createGpuModuleToBinaryPass(binaryOptions));
  if (failed(binaryPm.run(*holder)))
    return kernel.emitError("translating kernel @")
           << name << " to PTX for " << archList << " failed";

  auto binaries = holder->getOps<gpu::BinaryOp>();
  if (binaries.empty() || (*binaries.begin()).getObjects().size() != archs.size())
    return kernel.emitError("lowering kernel @") << name << " produced no PTX object";
  std::vector<std::string> ptx;
  for (Attribute object : (*binaries.begin()).getObjects())
    // The serializer terminates the assembly with a NUL that ptxas rejects.
    ptx.push_back(cast<gpu::ObjectAttr>(object).getObject().getValue().rtrim('\0').str());
  return ptx;
}

FailureOr<std::string> lowerToPtx(gpu::GPUModuleOp kernel, llvm::StringRef arch) {
  FailureOr<std::vector<std::string>> ptx = lowerToPtx(kernel, llvm::ArrayRef(arch));
  if (failed(ptx))
    return failure();
  return std::move(ptx->front());
}

} // namespace kiln::targets
