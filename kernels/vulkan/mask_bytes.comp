// mask_bytes.comp - Converts i1 masks between host bytes and kernel words.
//
// The host (HostTensor, plan inputs and outputs) stores an i1 mask one byte
// per element; kernels store it one 32-bit word per element (KernelAbi.h).
// With `pack` = 0 this unpacks `count` bytes into words (an i1 input entering
// the step); with `pack` = 1 it packs `count` words into bytes, four to a
// word of the result (an i1 output leaving the step). Nonzero means true.
//
// Bindings: 0 result, 1 operand.
// Push constants: count, pack.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_ELEMENTWISE_WORKGROUP) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { uint result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Operand { uint operand[]; };

layout(push_constant) uniform Parameters {
  uint count;
  uint pack;
} parameters;

void main() {
  uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (parameters.pack == 0u) {
    for (uint i = gl_GlobalInvocationID.x; i < parameters.count; i += step) {
      uint byteValue = (operand[i / 4u] >> (8u * (i % 4u))) & 0xffu;
      result[i] = byteValue != 0u ? 1u : 0u;
    }
  } else {
    uint words = (parameters.count + 3u) / 4u;
    for (uint w = gl_GlobalInvocationID.x; w < words; w += step) {
      uint packed = 0u;
      for (uint j = 0u; j < 4u && 4u * w + j < parameters.count; ++j)
        packed |= (operand[4u * w + j] != 0u ? 1u : 0u) << (8u * j);
      result[w] = packed;
    }
  }
}
