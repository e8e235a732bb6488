//===- KernelTargets.h - Lower one gpu.module kernel to SPIR-V or PTX -----===//
//
// The kernel emitter produces, per fused kernel, a `gpu.module` holding exactly one
// `gpu.func ... kernel` whose arguments are static 1-D f32/i32 memrefs (argument i is
// Vulkan descriptor set 0 binding i, and CUDA parameter i as one bare device pointer),
// with optional workgroup memory attributions. This library lowers a clone of such a
// module; the input is never modified.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_KERNELTARGETS_H
#define KILN_TARGETS_KERNELTARGETS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::targets {

/// Adds every dialect and interface a kernel module and its lowering need (gpu, arith,
/// math, scf, memref, cf, func, index, spirv, nvvm, llvm and the LLVM-IR translation
/// interfaces). The context that owns the kernels passed below must be built from a
/// registry that went through this function.
void registerKernelDialects(mlir::DialectRegistry &registry);

/// SPIR-V (little-endian words) for Vulkan 1.1 of the one kernel in `kernel`; its entry
/// point is named after the gpu.func. Errors are emitted as MLIR diagnostics at the
/// kernel's location and the result is failure().
mlir::FailureOr<std::vector<uint32_t>> lowerToSpirv(mlir::gpu::GPUModuleOp kernel);

/// PTX text for `arch` ("sm_80" or "sm_90"); the `.entry` is named after the gpu.func and
/// takes one pointer parameter per memref argument. Math ops are linked against
/// libdevice. Errors are emitted as diagnostics; the result is then failure().
mlir::FailureOr<std::string> lowerToPtx(mlir::gpu::GPUModuleOp kernel, llvm::StringRef arch);

/// PTX for each of `archs`, in that order, from one lowering to NVVM (the same text per
/// architecture as the single-architecture form, in less time).
mlir::FailureOr<std::vector<std::string>> lowerToPtx(mlir::gpu::GPUModuleOp kernel,
                                                     llvm::ArrayRef<llvm::StringRef> archs);

/// Runs `ptxas -arch=<arch>` (from $KILN_PTXAS, else /usr/local/cuda/bin/ptxas, else
/// PATH) on `ptx`; returns an empty string on success, else the error text (also when
/// ptxas is missing).
std::string checkWithPtxas(llvm::StringRef ptx, llvm::StringRef arch);

namespace detail {
/// Checks that `kernel` follows the emitter ABI and returns its one kernel function.
/// Emits an error at the offending location otherwise.
mlir::FailureOr<mlir::gpu::GPUFuncOp> verifyKernelAbi(mlir::gpu::GPUModuleOp kernel);
} // namespace detail

} // namespace kiln::targets

#endif // KILN_TARGETS_KERNELTARGETS_H
