//===- KernelEmitter.h - A formed kernel as one GPU function ----*- C++ -*-===//
//
// Turns one kernel function formed by kiln-fuse (a private func.func of graph
// ops on tensors, with a `kiln.kernel` dictionary) into a `gpu.module` with
// one `gpu.func` over flat buffers, the source both targets lower from
// (SPIR-V for Vulkan, PTX for CUDA), plus its launch grid.
//
// Buffer ABI: the function's results are bindings 0..R-1 (written), its
// arguments bindings R..R+A-1 (read), each a 1-D memref of its elements, f32
// or i32 (an i1 mask is one i32 word per element). Shapes are static, so
// every size and stride is a constant in the code and there are no push
// constants.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_KERNELEMITTER_H
#define KILN_CODEGEN_KERNELEMITTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <array>
#include <cstdint>
#include <utility>

namespace kiln::codegen {

struct EmittedKernel {
  /// A builtin.module holding the one gpu.module (owned).
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::gpu::GPUModuleOp gpuModule;
  std::array<uint32_t, 3> workgroupSize = {1, 1, 1};
  std::array<uint32_t, 3> groupCount = {1, 1, 1};
  /// (output binding, input binding) pairs that may share storage (plan Kernel.in_place).
  llvm::SmallVector<std::pair<uint32_t, uint32_t>> inPlace;
};

/// Registers the dialects the emitted kernels use.
void registerKernelEmitterDialects(mlir::DialectRegistry &registry);

/// Emits `kernel` (see the file comment). Fails with an error at the op that cannot be
/// emitted (an f64 tensor, a grid beyond the dispatch limits).
mlir::FailureOr<EmittedKernel> emitKernel(mlir::func::FuncOp kernel);

/// A kernel converting a `count`-element i1 mask between the host's layout (one byte per
/// element, packed four to a 32-bit word) and the kernels' (one word per element): binding 0
/// is written, binding 1 read; `pack` goes from words to bytes.
mlir::FailureOr<EmittedKernel> emitMaskConversion(mlir::MLIRContext *context, mlir::Location loc,
                                                  llvm::StringRef name, int64_t count, bool pack);

} // namespace kiln::codegen

#endif // KILN_CODEGEN_KERNELEMITTER_H
