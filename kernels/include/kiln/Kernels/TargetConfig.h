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

  /// The CPU target (docs/design/cpu-codegen.md): kernels run tile ranges on one thread each,
  /// so reductions and rows have one "thread" and no workgroup memory.
  bool cpu = false;
  /// CPU pointwise and multi-tensor tiles: elements per tile (a multiple of the lanes).
  int64_t cpuPointwiseTileElements = 4096;
  /// CPU vector lanes of f32 (AVX2 and NEON code is written for 8; AVX-512 widens it).
  int64_t cpuLanes = 8;
  /// CPU matmul register tile: rows x (vectors of cpuLanes columns), and the columns of one
  /// tile (a panel of the result, whose operand panel is packed into scratch once).
  int64_t cpuMatmulRows = 6;
  int64_t cpuMatmulVectors = 2;

  /// The schedule of the Vulkan and CUDA targets.
  static TargetConfig gpu() { return TargetConfig(); }
  /// The schedule of the CPU target for vectors of `lanes` f32 (8: AVX2 and NEON, 6x16
  /// matmul tiles as BLIS's on Zen 3; 16: AVX-512, 8x32 tiles, 16 of the 32 zmm registers
  /// accumulating).
  static TargetConfig cpuTarget(int64_t lanes = 8) {
    TargetConfig config;
    config.cpu = true;
    config.minReductionThreads = 1;
    config.maxReductionThreads = 1;
    config.cpuLanes = lanes;
    config.cpuMatmulRows = lanes >= 16 ? 8 : 6;
    return config;
  }

  int64_t matmulTileElements() const { return matmulTile * matmulTileDepth; }
};

} // namespace kiln::kernels

#endif // KILN_KERNELS_TARGETCONFIG_H
