//===- TargetConfig.h - Tile sizes and workgroup shapes of a target -*- C++ -*-===//
//
// Every number the kernel emitters choose a schedule by: matmul tiles, the
// pointwise workgroup, the thread range of reductions and rows, and the grid
// limit. The emitters read one TargetConfig and never a constant of their own,
// so a CPU target or tuned GPU tiles set their own numbers.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_KERNELS_TARGETCONFIG_H
#define KILN_KERNELS_TARGETCONFIG_H

#include <cstdint>

namespace kiln::kernels {

struct TargetConfig {
  /// Most workgroups per grid dimension (Vulkan's guaranteed maxComputeWorkGroupCount).
  int64_t maxGroupsPerDimension = 65535;
  /// Threads per workgroup of the grid-stride kinds (pointwise, multi-tensor, masks).
  int64_t pointwiseWorkgroup = 256;
  /// Matmul: output tile side per workgroup, depth of the k slice staged in workgroup
  /// memory, threads per tile side, outputs per thread per side
  /// (matmulTile == matmulThreadsPerSide * matmulPerThread).
  int64_t matmulTile = 64;
  int64_t matmulTileDepth = 16;
  int64_t matmulThreadsPerSide = 16;
  int64_t matmulPerThread = 4;
  /// Reductions and rows: a power of two of threads covering the reduced extent, within
  /// [minReductionThreads, maxReductionThreads].
  int64_t minReductionThreads = 32;
  int64_t maxReductionThreads = 256;

  /// The schedule of the Vulkan and CUDA targets.
  static TargetConfig gpu() { return TargetConfig(); }

  int64_t matmulTileElements() const { return matmulTile * matmulTileDepth; }
};

} // namespace kiln::kernels

#endif // KILN_KERNELS_TARGETCONFIG_H
