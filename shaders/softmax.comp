#version 450
#include "common.glsl"

// One workgroup per row, in place: x = exp(x - max) / sum; -inf entries become 0, an all -inf row all 0.
layout(std430, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform Params { uint n; } p;

void main() {
  const uint base = gl_WorkGroupID.x * p.n;
  const float neg_inf = uintBitsToFloat(0xff800000u);
  float m = neg_inf;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) m = max(m, x[base + i]);
  m = wg_max(m);
  if (isinf(m) && m < 0.0) {
    for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) x[base + i] = 0.0;
    return;
  }
  float s = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    const float e = exp(x[base + i] - m);
    x[base + i] = e;
    s += e;
  }
  const float inv = 1.0 / wg_sum(s);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) x[base + i] *= inv;
}
