// reduce.comp - Sum, mean and max over any set of axes.
//
// One workgroup per result element (grid-stride over result elements when
// there are more than the grid holds). The operand's dimensions are split
// into kept ones (the result's, row-major) and reduced ones; each has an
// extent and an operand stride. The workgroup's invocations each fold a
// strided share of the reduced index space, then a shared-memory tree
// combines the partial results, so even a reduction to a scalar runs on a
// whole workgroup. NaNs propagate through max, as in the reference device.
//
// Bindings: 0 result, 1 operand.
// Push constants: opcode, resultCount, reducedCount, keptRank, reducedRank,
// keptShape[6], keptStride[6], reducedShape[6], reducedStride[6].
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_REDUCE_WORKGROUP) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { float result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Operand { float operand[]; };

layout(push_constant) uniform Parameters {
  uint opcode;
  uint resultCount;
  uint reducedCount;
  uint keptRank;
  uint reducedRank;
  uint keptShape[KILN_MAX_RANK];
  uint keptStride[KILN_MAX_RANK];
  uint reducedShape[KILN_MAX_RANK];
  uint reducedStride[KILN_MAX_RANK];
} parameters;

shared float partial[KILN_REDUCE_WORKGROUP];

uint keptOffset(uint index) {
  uint offset = 0u;
  for (int d = int(parameters.keptRank) - 1; d >= 0; --d) {
    uint extent = parameters.keptShape[d];
    offset += (index % extent) * parameters.keptStride[d];
    index /= extent;
  }
  return offset;
}

uint reducedOffset(uint index) {
  uint offset = 0u;
  for (int d = int(parameters.reducedRank) - 1; d >= 0; --d) {
    uint extent = parameters.reducedShape[d];
    offset += (index % extent) * parameters.reducedStride[d];
    index /= extent;
  }
  return offset;
}

float combine(float a, float b) {
  if (parameters.opcode == KILN_REDUCE_MAX)
    return b > a || isnan(b) ? b : a;
  return a + b;
}

void main() {
  uint lane = gl_LocalInvocationID.x;
  float identity = parameters.opcode == KILN_REDUCE_MAX ? uintBitsToFloat(0xff800000u) : 0.0;
  for (uint element = gl_WorkGroupID.x; element < parameters.resultCount;
       element += gl_NumWorkGroups.x) {
    uint base = keptOffset(element);
    float accumulator = identity;
    for (uint r = lane; r < parameters.reducedCount; r += KILN_REDUCE_WORKGROUP)
      accumulator = combine(accumulator, operand[base + reducedOffset(r)]);
    partial[lane] = accumulator;
    barrier();
    for (uint width = KILN_REDUCE_WORKGROUP / 2; width > 0u; width /= 2u) {
      if (lane < width)
        partial[lane] = combine(partial[lane], partial[lane + width]);
      barrier();
    }
    if (lane == 0u) {
      float total = partial[0];
      if (parameters.opcode == KILN_REDUCE_MEAN)
        total /= float(parameters.reducedCount);
      result[element] = total;
    }
    barrier();
  }
}
