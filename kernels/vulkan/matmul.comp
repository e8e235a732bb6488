// matmul.comp - Batched matrix product with 16x16 shared-memory tiles.
//
// result[b, m, n] = sum_k lhs(b, m, k) * rhs(b, k, n). Operands are read
// through strides, so a transposed operand costs nothing extra: lhs(b, m, k)
// = lhs[b * lhsBatchStride + m * lhsRowStride + k * lhsDepthStride], and rhs
// likewise with (k, n). The result is contiguous [batch, M, N]. Each
// workgroup computes one 16x16 tile of one batch (gl_WorkGroupID.z); both
// operand tiles are staged in shared memory, and every k is summed in
// ascending order, like the reference device.
//
// Bindings: 0 result, 1 lhs, 2 rhs.
// Push constants: M, N, K, lhsBatchStride, lhsRowStride, lhsDepthStride,
// rhsBatchStride, rhsDepthStride, rhsColumnStride.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_MATMUL_TILE, local_size_y = KILN_MATMUL_TILE) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { float result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Lhs { float lhs[]; };
layout(std430, set = 0, binding = 2) readonly restrict buffer Rhs { float rhs[]; };

layout(push_constant) uniform Parameters {
  uint m;
  uint n;
  uint k;
  uint lhsBatchStride;
  uint lhsRowStride;
  uint lhsDepthStride;
  uint rhsBatchStride;
  uint rhsDepthStride;
  uint rhsColumnStride;
} parameters;

shared float lhsTile[KILN_MATMUL_TILE][KILN_MATMUL_TILE];
// One column of padding keeps the column-wise reads free of bank conflicts.
shared float rhsTile[KILN_MATMUL_TILE][KILN_MATMUL_TILE + 1];

void main() {
  uint tx = gl_LocalInvocationID.x;
  uint ty = gl_LocalInvocationID.y;
  uint row = gl_WorkGroupID.y * KILN_MATMUL_TILE + ty;
  uint column = gl_WorkGroupID.x * KILN_MATMUL_TILE + tx;
  uint batch = gl_WorkGroupID.z;
  uint lhsBase = batch * parameters.lhsBatchStride;
  uint rhsBase = batch * parameters.rhsBatchStride;

  float accumulator = 0.0;
  for (uint depth0 = 0u; depth0 < parameters.k; depth0 += KILN_MATMUL_TILE) {
    uint lhsDepth = depth0 + tx;
    lhsTile[ty][tx] = row < parameters.m && lhsDepth < parameters.k
                          ? lhs[lhsBase + row * parameters.lhsRowStride +
                                lhsDepth * parameters.lhsDepthStride]
                          : 0.0;
    uint rhsDepth = depth0 + ty;
    rhsTile[ty][tx] = rhsDepth < parameters.k && column < parameters.n
                          ? rhs[rhsBase + rhsDepth * parameters.rhsDepthStride +
                                column * parameters.rhsColumnStride]
                          : 0.0;
    barrier();
    uint depthCount = min(uint(KILN_MATMUL_TILE), parameters.k - depth0);
    for (uint d = 0u; d < depthCount; ++d)
      accumulator += lhsTile[ty][d] * rhsTile[d][tx];
    barrier();
  }
  if (row < parameters.m && column < parameters.n)
    result[(batch * parameters.m + row) * parameters.n + column] = accumulator;
}
