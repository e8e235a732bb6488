//===- KernelEmitter.h - Kernel functions to GPU functions ------*- C++ -*-===//
//
// Turns one kernel function formed by kiln-fuse (a func.func of graph ops on
// tensors carrying `graph.kernel`) into a `gpu.module` with one `gpu.func`
// over flat buffers, the source both GPU targets lower from, with its launch
// recorded on the gpu.func: `known_block_size` and the SPIR-V entry-point ABI
// (the workgroup), `kiln.grid` (the workgroups) and `kiln.in_place` (the
// (output, input) bindings that may share storage).
//
// Buffer ABI: the function's results are bindings 0..R-1 (written), its
// arguments bindings R..R+A-1 (read), each a 1-D memref of its elements, f32
// or i32 (an i1 mask is one i32 word per element). Shapes are static, so
// every size and stride is a constant in the code and there are no push
// constants.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_KERNELS_KERNELEMITTER_H
#define KILN_KERNELS_KERNELEMITTER_H

#include "kiln/Kernels/TargetConfig.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <array>
#include <cstdint>
#include <utility>

namespace kiln::kernels {

/// The attribute names of the launch on an emitted gpu.func.
constexpr llvm::StringLiteral kGridAttrName = "kiln.grid";
constexpr llvm::StringLiteral kInPlaceAttrName = "kiln.in_place";

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

/// The symbol of the gpu.module emitted for kernel function `kernelName`.
std::string gpuModuleName(llvm::StringRef kernelName);

/// Emits `kernel` by its `graph.kernel` kind with `config`'s schedule, into a fresh module
/// (not yet canonicalized). Fails with an error at the op that cannot be emitted (an f64
/// tensor, a matmul operand computed inside the kernel, a grid beyond the dispatch limits).
mlir::FailureOr<EmittedKernel> emitKernel(mlir::func::FuncOp kernel, const TargetConfig &config);

/// A kernel converting a `count`-element i1 mask between the host's layout (one byte per
/// element, packed four to a 32-bit word) and the kernels' (one word per element): binding 0
/// is written, binding 1 read; `pack` goes from words to bytes.
mlir::FailureOr<EmittedKernel> emitMaskConversion(mlir::MLIRContext *context, mlir::Location loc,
                                                  llvm::StringRef name, int64_t count, bool pack,
                                                  const TargetConfig &config);

/// Reads the launch of an emitted `gpuModule` back from its gpu.func's attributes and clones
/// it, renamed `kernels` and without the `kiln.` attributes, into a fresh module for the
/// target lowerings. Fails with an error when the attributes are missing.
mlir::FailureOr<EmittedKernel> takeEmittedKernel(mlir::gpu::GPUModuleOp gpuModule);

} // namespace kiln::kernels

#endif // KILN_KERNELS_KERNELEMITTER_H
