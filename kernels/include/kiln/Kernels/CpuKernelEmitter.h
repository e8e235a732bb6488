//===- CpuKernelEmitter.h - Kernel functions to CPU kernel functions -*- C++ -*-===//
//
// The CPU emitters beside the GPU ones (docs/design/cpu-codegen.md): from the same kernel
// function formed by kiln-fuse and the same value emitter, a public func.func with the CPU
// kernel ABI
//   void k(void *const *bindings, uint32_t tile_begin, uint32_t tile_end, void *scratch)
// that computes tiles [tile_begin, tile_end) of the kernel on the calling thread. Bindings
// are as for the GPU kernels (results, then arguments; f32, or one 32-bit word per i32 or
// i1 element). What a tile is depends on the kind: a run of elements (pointwise,
// multi-tensor), one output (reduction), one row (row), a panel of result columns (matmul).
// Every element is computed by the same instructions whichever call holds its tile, so any
// split of the tiles among threads gives the same bits.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_KERNELS_CPUKERNELEMITTER_H
#define KILN_KERNELS_CPUKERNELEMITTER_H

#include "kiln/Kernels/TargetConfig.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdint>

namespace kiln::kernels {

/// How an emitted CPU kernel splits its work, for the plan and the thread team.
struct CpuKernelInfo {
  /// Tiles of the kernel (a call runs a range of them).
  uint32_t tileCount = 0;
  /// Scratch bytes the kernel needs per calling thread (packed operand panels).
  uint64_t scratchBytes = 0;
};

/// Registers the dialects the emitted CPU kernels use.
void registerCpuKernelEmitterDialects(mlir::DialectRegistry &registry);

/// Writes into `into` a public func.func named after `kernel`, the CPU form of the kernel
/// function `kernel` (with `graph.kernel`) under `config` (TargetConfig::cpuTarget()). Fails
/// with an error at the op that cannot be compiled for the CPU, or when `into` already holds
/// that name.
mlir::FailureOr<CpuKernelInfo> emitCpuKernel(mlir::func::FuncOp kernel, mlir::ModuleOp into,
                                             const TargetConfig &config);

/// Writes into `into` the CPU form of the mask conversion kernel of emitMaskConversion
/// (KernelEmitter.h): binding 0 written, binding 1 read; `pack` goes from words to bytes.
mlir::FailureOr<CpuKernelInfo> emitCpuMaskConversion(mlir::ModuleOp into, mlir::Location loc,
                                                     llvm::StringRef name, int64_t count, bool pack,
                                                     const TargetConfig &config);

} // namespace kiln::kernels

#endif // KILN_KERNELS_CPUKERNELEMITTER_H
