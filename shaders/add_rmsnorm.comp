#version 450
#include "common.glsl"

// One workgroup per row of n: the residual add followed by the next RMSNorm, in one dispatch instead of two (three
// with Gemma's post-norm of the branch): d' = post_mode != 0 ? rmsnorm(d) * gain(post_mode, dw) : d; x += d'
// (in place); out = rmsnorm(x) * gain(mode, w). gain: 0 none, 1 w, 2 1 + w. out must not alias x or d.
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer D { float d[]; };
layout(std430, binding = 2) readonly buffer DW { float dw[]; };
layout(std430, binding = 3) readonly buffer W { float w[]; };
layout(std430, binding = 4) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint n;
  float eps;
  uint post_mode;
  uint mode;
} p;

float gain(uint mode, float v) { return mode == 1u ? v : (mode == 2u ? 1.0 + v : 1.0); }

void main() {
  const uint base = gl_WorkGroupID.x * p.n;
  float post = 1.0;
  if (p.post_mode != 0u) {
    float sd = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) sd += d[base + i] * d[base + i];
    post = inversesqrt(wg_sum(sd) / float(p.n) + p.eps);
  }
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    const float di = p.post_mode != 0u ? d[base + i] * post * gain(p.post_mode, dw[i]) : d[base + i];
    const float v = x[base + i] + di;
    x[base + i] = v;  // read back below by this same invocation only
    ss += v * v;
  }
  const float inv = inversesqrt(wg_sum(ss) / float(p.n) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) outv[base + i] = x[base + i] * inv * gain(p.mode, w[i]);
}
