// elementwise.comp - Unary, binary, comparison and select ops over flat buffers.
//
// Built three times from this one source: ARITY=1 (unary ops), ARITY=2 (binary
// ops and comparisons) and ARITY=3 (select). The op code is a push constant,
// so each build is one SPIR-V module shared by every op of its arity. A
// grid-stride loop covers any element count with a bounded number of
// workgroups.
//
// Bindings: 0 result, 1.. operands (select: 1 condition, 2 on_true, 3 on_false).
// Push constants: opcode, count.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "kiln/kernels/KernelAbi.h"

layout(local_size_x = KILN_ELEMENTWISE_WORKGROUP) in;

layout(std430, set = 0, binding = 0) writeonly restrict buffer Result { uint result[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Operand0 { uint operand0[]; };
#if ARITY >= 2
layout(std430, set = 0, binding = 2) readonly restrict buffer Operand1 { uint operand1[]; };
#endif
#if ARITY >= 3
layout(std430, set = 0, binding = 3) readonly restrict buffer Operand2 { uint operand2[]; };
#endif

layout(push_constant) uniform Parameters {
  uint opcode;
  uint count;
} parameters;

#if ARITY == 1
// tanh saturates to +-1 in f32 beyond |x| = 10; clamping first keeps an
// implementation that evaluates (e^2x - 1) / (e^2x + 1) away from inf / inf.
float saturatingTanh(float x) {
  return isnan(x) ? x : tanh(clamp(x, -10.0, 10.0));
}

float applyUnary(uint opcode, float x) {
  switch (opcode) {
  case KILN_UNARY_NEG:
    return -x;
  case KILN_UNARY_EXP:
    return exp(x);
  case KILN_UNARY_LOG:
    return log(x);
  case KILN_UNARY_SQRT:
    return sqrt(x);
  case KILN_UNARY_RELU:
    return x < 0.0 ? 0.0 : x; // NaN propagates, as in PyTorch
  case KILN_UNARY_TANH:
    return saturatingTanh(x);
  default: // KILN_UNARY_SIGMOID
    return 1.0 / (1.0 + exp(-x));
  }
}

uint compute(uint i) {
  return floatBitsToUint(applyUnary(parameters.opcode, uintBitsToFloat(operand0[i])));
}
#elif ARITY == 2
uint compute(uint i) {
  float a = uintBitsToFloat(operand0[i]);
  float b = uintBitsToFloat(operand1[i]);
  switch (parameters.opcode) {
  case KILN_BINARY_ADD:
    return floatBitsToUint(a + b);
  case KILN_BINARY_SUB:
    return floatBitsToUint(a - b);
  case KILN_BINARY_MUL:
    return floatBitsToUint(a * b);
  case KILN_BINARY_DIV:
    return floatBitsToUint(a / b);
  case KILN_BINARY_MAX:
    return floatBitsToUint(a >= b || isnan(a) ? a : b); // NaN propagates
  case KILN_COMPARE_EQ:
    return uint(a == b);
  case KILN_COMPARE_NE:
    return uint(a != b);
  case KILN_COMPARE_LT:
    return uint(a < b);
  case KILN_COMPARE_LE:
    return uint(a <= b);
  case KILN_COMPARE_GT:
    return uint(a > b);
  default: // KILN_COMPARE_GE
    return uint(a >= b);
  }
}
#else
uint compute(uint i) {
  return operand0[i] != 0u ? operand1[i] : operand2[i];
}
#endif

void main() {
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < parameters.count; i += stride)
    result[i] = compute(i);
}
