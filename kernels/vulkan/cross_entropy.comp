// cross_entropy.comp - Per-example softmax cross entropy with integer labels.
//
// result[r] = log(sum_c exp(logits[r, c] - max)) + max - logits[r, labels[r]]
// over [rows, classes] logits. One workgroup per row (grid-stride over rows),
// with workgroup reductions for the maximum and the sum. A label outside
// [0, classes) is never used as an index: that example's result is NaN, so a
// bad label poisons the loss instead of reading out of bounds (the reference
// device rejects the step instead).
//
// Bindings: 0 result, 1 logits, 2 labels (i32).
// Push constants: rows, classes.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_ROW_WORKGROUP) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { float result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Logits { float logits[]; };
layout(std430, set = 0, binding = 2) readonly restrict buffer Labels { int labels[]; };

layout(push_constant) uniform Parameters {
  uint rows;
  uint classes;
} parameters;

#include "WorkgroupReduce.glsl"

void main() {
  uint lane = gl_LocalInvocationID.x;
  uint classes = parameters.classes;
  for (uint row = gl_WorkGroupID.x; row < parameters.rows; row += gl_NumWorkGroups.x) {
    uint base = row * classes;
    float localMax = uintBitsToFloat(0xff800000u);
    for (uint c = lane; c < classes; c += KILN_ROW_WORKGROUP)
      localMax = maxPropagatingNan(localMax, logits[base + c]);
    float rowMax = workgroupMax(localMax);
    float localSum = 0.0;
    for (uint c = lane; c < classes; c += KILN_ROW_WORKGROUP)
      localSum += exp(logits[base + c] - rowMax);
    float rowSum = workgroupSum(localSum);
    if (lane == 0u) {
      int label = labels[row];
      bool inRange = label >= 0 && uint(label) < classes;
      uint safeLabel = inRange ? uint(label) : 0u;
      float loss = log(rowSum) + (rowMax - logits[base + safeLabel]);
      result[row] = inRange ? loss : uintBitsToFloat(0x7fc00000u);
    }
  }
}
