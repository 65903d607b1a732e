#version 450
#include "common.glsl"

// Gemma 3n stream magnitude matching, one workgroup per row of n: f = sqrt(mean(ref^2)) / sqrt(max(mean(x^2), floor));
// out = x * f, or out += x * f when accumulate != 0. out may alias x (not ref when accumulating).
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Ref { float ref_v[]; };
layout(std430, binding = 2) buffer Out { float outv[]; };
layout(push_constant) uniform Params { uint n; float floor_ms; uint accumulate; } p;

void main() {
  const uint base = gl_WorkGroupID.x * p.n;
  float sx = 0.0, sr = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    sx += x[base + i] * x[base + i];
    sr += ref_v[base + i] * ref_v[base + i];
  }
  const float ms_x = wg_sum(sx) / float(p.n);
  const float ms_r = wg_sum(sr) / float(p.n);
  const float f = sqrt(ms_r) / sqrt(max(ms_x, p.floor_ms));
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    const float v = x[base + i] * f;
    outv[base + i] = p.accumulate != 0u ? outv[base + i] + v : v;
  }
}
