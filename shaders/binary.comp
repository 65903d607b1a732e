#version 450
layout(local_size_x_id = 0) in;
#include "grid.glsl"

// Element-wise out = a + b (mode 0) or a * b (mode 1); b is broadcast when b_len < n (b[i % b_len]).
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params { uint n; uint b_len; uint mode; } p;

void main() {
  const uint i = flat_invocation();
  if (i >= p.n) return;
  const float bv = b[i % p.b_len];
  outv[i] = p.mode == 0u ? a[i] + bv : a[i] * bv;
}
