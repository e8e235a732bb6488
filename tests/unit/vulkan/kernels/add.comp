// add.comp - result = lhs + rhs, elementwise over f32 (test kernel).
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Lhs { float lhs[]; };
layout(std430, set = 0, binding = 1) readonly buffer Rhs { float rhs[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Result { float result[]; };

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < result.length())
    result[i] = lhs[i] + rhs[i];
}
