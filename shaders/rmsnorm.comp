#version 450
#include "common.glsl"

// One workgroup per row: out = x / sqrt(mean(x^2) + eps) * (w, 1 + w, or 1). out may alias x (same binding).
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint n;
  float eps;
  uint weight_mode;  // 0: no weight, 1: w, 2: 1 + w (Gemma)
} p;

void main() {
  const uint base = gl_WorkGroupID.x * p.n;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) ss += x[base + i] * x[base + i];
  const float inv = inversesqrt(wg_sum(ss) / float(p.n) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    float g = 1.0;
    if (p.weight_mode == 1u) g = w[i];
    else if (p.weight_mode == 2u) g = 1.0 + w[i];
    outv[base + i] = x[base + i] * inv * g;
  }
}
