//===- KernelTargets.cpp - Dialect registration, ABI check, ptxas ---------===//
//
// Shared pieces of the kernel targets: the dialects and interfaces a kernel module needs,
// the check that a module follows the emitter ABI, and the ptxas runner used by tests and
// by `kiln inspect`.
//
//===----------------------------------------------------------------------===//
#include "kiln/Targets/KernelTargets.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <optional>

using namespace mlir;

namespace kiln::targets {

void registerKernelDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, cf::ControlFlowDialect, func::FuncDialect, gpu::GPUDialect,
                  index::IndexDialect, LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
                  NVVM::NVVMDialect, scf::SCFDialect, spirv::SPIRVDialect, ub::UBDialect>();
  // convert-gpu-to-nvvm and gpu-module-to-binary find their patterns and translations
  // through these interfaces.
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

namespace detail {

FailureOr<gpu::GPUFuncOp> verifyKernelAbi(gpu::GPUModuleOp kernel) {
  SmallVector<gpu::GPUFuncOp> kernels;
  for (auto func : kernel.getOps<gpu::GPUFuncOp>())
    if (func.isKernel())
      kernels.push_back(func);
  if (kernels.size() != 1)
    return kernel.emitError("expected exactly one gpu.func kernel in gpu.module @")
           << kernel.getName() << ", found " << kernels.size();
  gpu::GPUFuncOp func = kernels.front();
  for (auto [index, type] : llvm::enumerate(func.getArgumentTypes())) {
    auto memref = dyn_cast<MemRefType>(type);
    bool supported =
        memref && memref.getRank() == 1 && memref.hasStaticShape() &&
        memref.getLayout().isIdentity() && !memref.getMemorySpace() &&
        (memref.getElementType().isF32() || memref.getElementType().isSignlessInteger(32));
    if (!supported)
      return func.emitError("kernel argument ")
             << index << " has type " << type
             << "; expected a static 1-D memref of f32 or i32 in the default memory space";
  }
  for (BlockArgument attribution : func.getWorkgroupAttributions()) {
    auto memref = cast<MemRefType>(attribution.getType());
    if (!memref.hasStaticShape() ||
        !(memref.getElementType().isF32() || memref.getElementType().isSignlessInteger(32)))
      return func.emitError("workgroup attribution ")
             << attribution.getArgNumber() << " has type " << memref
             << "; expected a static memref of f32 or i32";
  }
  if (func.getNumPrivateAttributions() != 0)
    return func.emitError("private attributions are not supported");
  return func;
}

} // namespace detail

/// Where ptxas lives: $KILN_PTXAS, else the CUDA toolkit's, else PATH.
static std::optional<std::string> findPtxas() {
  if (const char *fromEnv = std::getenv("KILN_PTXAS"); fromEnv && *fromEnv)
    return std::string(fromEnv);
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return std::string("/usr/local/cuda/bin/ptxas");
  if (auto onPath = llvm::sys::findProgramByName("ptxas"))
    return *onPath;
  return std::nullopt;
}

std::string checkWithPtxas(llvm::StringRef ptx, llvm::StringRef arch) {
  std::optional<std::string> ptxas = findPtxas();
  if (!ptxas)
    return "ptxas not found: set KILN_PTXAS or install the CUDA toolkit in /usr/local/cuda";

  llvm::SmallString<128> input, output, log;
  if (llvm::sys::fs::createTemporaryFile("kiln-kernel", "ptx", input) ||
      llvm::sys::fs::createTemporaryFile("kiln-kernel", "cubin", output) ||
      llvm::sys::fs::createTemporaryFile("kiln-ptxas", "log", log))
    return "cannot create temporary files for ptxas";
  auto cleanup = llvm::make_scope_exit([&] {
    llvm::sys::fs::remove(input);
    llvm::sys::fs::remove(output);
    llvm::sys::fs::remove(log);
  });
  {
    std::error_code error;
    llvm::raw_fd_ostream stream(input, error);
    if (error)
      return "cannot write " + input.str().str() + ": " + error.message();
    stream << ptx;
  }

  std::string archFlag = ("-arch=" + arch).str();
  llvm::SmallVector<llvm::StringRef> args = {*ptxas, archFlag, "-o", output, input};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string launchError;
  int status = llvm::sys::ExecuteAndWait(*ptxas, args, /*Env=*/std::nullopt, redirects,
                                         /*SecondsToWait=*/60, /*MemoryLimit=*/0, &launchError);
  if (status == 0)
    return "";
  std::string message = "ptxas " + archFlag + " failed (status " + std::to_string(status) + ")";
  if (!launchError.empty())
    message += ": " + launchError;
  if (auto text = llvm::MemoryBuffer::getFile(log))
    message += "\n" + (*text)->getBuffer().str();
  return message;
}

} // namespace kiln::targets
