#version 450
#include "common.glsl"

// One workgroup per row of n: a residual add followed by the next RMSNorm, in one dispatch instead of two to seven:
//   x = (x + post(d) + post2(d2) + d3) * scale   (in place; d2 and d3 optional)
//   out = rmsnorm(x) * gain(mode, w)
// where post(d) = rmsnorm(d) * gain(post_mode, dw) (Gemma's post-norm of a branch) or d itself for post_mode 0, and
// post2 likewise with d2_mode (0: no d2). gain: 1 w, 2 1 + w, 0 none. out must not alias x, d or d2; it may alias
// d3 (each element is read before it is written, by the same invocation).
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer D { float d[]; };
layout(std430, binding = 2) readonly buffer DW { float dw[]; };
layout(std430, binding = 3) readonly buffer D2 { float d2[]; };
layout(std430, binding = 4) readonly buffer D2W { float d2w[]; };
layout(std430, binding = 5) readonly buffer D3 { float d3[]; };
layout(std430, binding = 6) readonly buffer W { float w[]; };
layout(std430, binding = 7) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint n;
  float eps;
  uint post_mode;
  uint mode;
  uint d2_mode;  // 0: no d2
  uint has_d3;
  float scale;
} p;


float inv_rms(float ss) { return inversesqrt(wg_sum(ss) / float(p.n) + p.eps); }

void main() {
  const uint base = gl_WorkGroupID.x * p.n;
  float post = 1.0, post2 = 1.0;
  if (p.post_mode != 0u) {  // uniform over the workgroup, as every branch around wg_sum here
    float s = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) s += d[base + i] * d[base + i];
    post = inv_rms(s);
  }
  if (p.d2_mode != 0u) {
    float s = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) s += d2[base + i] * d2[base + i];
    post2 = inv_rms(s);
  }
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    float v = x[base + i] + (p.post_mode != 0u ? d[base + i] * post * gain(p.post_mode, dw[i]) : d[base + i]);
    if (p.d2_mode != 0u) v += d2[base + i] * post2 * gain(p.d2_mode, d2w[i]);
    if (p.has_d3 != 0u) v += d3[base + i];
    v *= p.scale;
    x[base + i] = v;  // read back below by this same invocation only
    ss += v * v;
  }
  const float inv = inv_rms(ss);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) outv[base + i] = x[base + i] * inv * gain(p.mode, w[i]);
}
