// mse.comp - Mean squared error of two same-shaped tensors, a scalar.
//
// Dispatched as exactly one workgroup: each invocation sums the squared
// differences of a strided share of the elements, a shared-memory tree adds
// the partial sums, and invocation 0 writes the sum divided by `count`.
//
// Bindings: 0 result (one element), 1 prediction, 2 target.
// Push constants: count.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_ROW_WORKGROUP) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { float result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Prediction { float prediction[]; };
layout(std430, set = 0, binding = 2) readonly restrict buffer Target { float target[]; };

layout(push_constant) uniform Parameters {
  uint count;
} parameters;

#include "WorkgroupReduce.glsl"

void main() {
  uint lane = gl_LocalInvocationID.x;
  float localSum = 0.0;
  for (uint i = lane; i < parameters.count; i += KILN_ROW_WORKGROUP) {
    float difference = prediction[i] - target[i];
    localSum += difference * difference;
  }
  float total = workgroupSum(localSum);
  if (lane == 0u)
    result[0] = total / float(parameters.count);
}
