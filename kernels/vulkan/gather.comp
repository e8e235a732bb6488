// gather.comp - Strided copy: broadcast, transpose and any other strided view.
//
// result[i] = operand[sum_k coord_k(i) * stride_k], where coord(i) is the
// row-major position of i in `shape` (the result's shape). A stride of 0
// repeats an operand element (broadcast); permuted strides transpose. Ranks up
// to KILN_MAX_RANK; a rank-0 copy has one element and an offset of 0.
//
// Bindings: 0 result, 1 operand.
// Push constants: count, rank, shape[6], stride[6].
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_ELEMENTWISE_WORKGROUP) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { uint result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Operand { uint operand[]; };

layout(push_constant) uniform Parameters {
  uint count;
  uint rank;
  uint shape[KILN_MAX_RANK];
  uint stride[KILN_MAX_RANK];
} parameters;

uint operandOffset(uint index) {
  uint offset = 0u;
  for (int d = int(parameters.rank) - 1; d >= 0; --d) {
    uint extent = parameters.shape[d];
    offset += (index % extent) * parameters.stride[d];
    index /= extent;
  }
  return offset;
}

void main() {
  uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < parameters.count; i += step)
    result[i] = operand[operandOffset(i)];
}
