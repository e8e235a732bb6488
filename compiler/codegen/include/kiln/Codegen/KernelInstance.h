//===- KernelInstance.h - One kernel launch before buffers exist -*- C++ -*-===//
//
// The seam between choosing kernels and assembling the plan. Lowering maps
// graph ops to KernelInstances (today one per op; a fusion pass will map
// several ops to one), each naming a kernel template, its push constants,
// its grid and the SSA values bound to its bindings. Plan assembly then gives
// the values buffers, orders the launches and places barriers, without
// knowing what any kernel computes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_KERNELINSTANCE_H
#define KILN_CODEGEN_KERNELINSTANCE_H

#include "kiln/kernels/VulkanKernels.h"

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

#include <array>
#include <cstdint>

namespace kiln::codegen {

/// A value bound to one storage-buffer binding, and whether the kernel writes it. The value
/// is null for bindings plan assembly fills itself (host-boundary conversions).
struct KernelBinding {
  mlir::Value value;
  bool written = false;
};

/// One launch of a kernel template.
struct KernelInstance {
  kernels::VulkanKernel kernel;
  /// Push-constant words, in the order of the template's `Parameters` block.
  llvm::SmallVector<uint32_t, 32> pushConstants;
  /// Binding i of the template is bindings[i].
  llvm::SmallVector<KernelBinding, 4> bindings;
  std::array<uint32_t, 3> groupCount = {1, 1, 1};
  /// The graph ops this launch implements (not owned), for messages and tracing.
  llvm::SmallVector<mlir::Operation *, 1> sourceOps;
};

/// Whether `op` is lowered to a kernel launch by lowerToKernel (compute ops), as opposed to
/// being handled by plan assembly (inputs, outputs, variables, constants, reshapes).
bool isComputeOp(mlir::Operation *op);

/// The launch that computes compute op `op`. Fails, with an error diagnostic at `op`
/// naming it and the reason, when the Vulkan kernels cannot implement it (rank above 6,
/// a grid beyond the dispatch limits).
mlir::FailureOr<KernelInstance> lowerToKernel(mlir::Operation *op);

/// The launch that converts a `count`-element i1 mask between the host's bytes and the
/// kernels' words for `op` (a graph.input or graph.output): unpacking bytes to words when
/// `pack` is false, packing words to bytes when true. Binding 0 (written) and 1 (read) have
/// null values: the caller names their buffers.
KernelInstance maskConversion(mlir::Operation *op, int64_t count, bool pack);

} // namespace kiln::codegen

#endif // KILN_CODEGEN_KERNELINSTANCE_H
