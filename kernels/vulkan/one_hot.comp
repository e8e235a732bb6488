// one_hot.comp - Integer labels to one-hot rows of floats.
//
// result[i] = 1.0 when labels[i / classes] == i % classes, else 0.0, over
// count = labels * classes elements (grid-stride). Labels outside
// [0, classes) give a row of zeros, like graph.one_hot says.
//
// Bindings: 0 result, 1 labels (i32).
// Push constants: count, classes.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_ELEMENTWISE_WORKGROUP) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { float result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Labels { int labels[]; };

layout(push_constant) uniform Parameters {
  uint count;
  uint classes;
} parameters;

void main() {
  uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < parameters.count; i += step) {
    int label = labels[i / parameters.classes];
    result[i] = label == int(i % parameters.classes) ? 1.0 : 0.0;
  }
}
