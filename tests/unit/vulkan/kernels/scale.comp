// scale.comp - y = x * factor, with factor a push constant (test kernel).
#version 450
layout(local_size_x = 64) in;
layout(push_constant) uniform Push { float factor; };
layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Output { float y[]; };

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < y.length())
    y[i] = x[i] * factor;
}
