// softmax.comp - softmax and log_softmax along one axis, numerically stable.
//
// The operand is seen as [outer, size, inner] around the axis; a row is one
// (outer, inner) pair, its `size` elements `inner` apart. One workgroup per
// row (grid-stride over rows): a workgroup reduction finds the row's maximum,
// a second sums exp(x - max), then every element is written as
// exp(x - max) / sum, or x - max - log(sum) when `logarithm` is set.
//
// Bindings: 0 result, 1 operand.
// Push constants: rows, size, inner, logarithm (0 or 1).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_ROW_WORKGROUP) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { float result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Operand { float operand[]; };

layout(push_constant) uniform Parameters {
  uint rows;
  uint size;
  uint inner;
  uint logarithm;
} parameters;

#include "WorkgroupReduce.glsl"

void main() {
  uint lane = gl_LocalInvocationID.x;
  uint size = parameters.size, inner = parameters.inner;
  for (uint row = gl_WorkGroupID.x; row < parameters.rows; row += gl_NumWorkGroups.x) {
    uint base = (row / inner) * size * inner + row % inner;
    float localMax = uintBitsToFloat(0xff800000u);
    for (uint j = lane; j < size; j += KILN_ROW_WORKGROUP)
      localMax = maxPropagatingNan(localMax, operand[base + j * inner]);
    float rowMax = workgroupMax(localMax);
    float localSum = 0.0;
    for (uint j = lane; j < size; j += KILN_ROW_WORKGROUP)
      localSum += exp(operand[base + j * inner] - rowMax);
    float rowSum = workgroupSum(localSum);
    if (parameters.logarithm != 0u) {
      float shift = rowMax + log(rowSum);
      for (uint j = lane; j < size; j += KILN_ROW_WORKGROUP)
        result[base + j * inner] = operand[base + j * inner] - shift;
    } else {
      for (uint j = lane; j < size; j += KILN_ROW_WORKGROUP)
        result[base + j * inner] = exp(operand[base + j * inner] - rowMax) / rowSum;
    }
  }
}
