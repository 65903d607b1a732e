#version 450
#include "common.glsl"

// Gemma 3n per-layer inputs, one workgroup per (layer segment l, token t) of P floats at t * n_layers * P + l * P:
// out = (rmsnorm(proj * proj_scale) * norm_w + tok * tok_scale) * combine, where proj is the model projection of
// the embedding and tok the token's per-layer embedding row. out may alias proj or tok.
layout(std430, binding = 0) readonly buffer Proj { float proj[]; };
layout(std430, binding = 1) readonly buffer Tok { float tok[]; };
layout(std430, binding = 2) readonly buffer NormW { float norm_w[]; };
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint seg;  // P
  uint n_layers;
  float eps;
  float proj_scale;
  float tok_scale;
  float combine;
} p;

void main() {
  const uint base = (gl_WorkGroupID.y * p.n_layers + gl_WorkGroupID.x) * p.seg;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.seg; i += WG_SIZE) {
    const float v = proj[base + i] * p.proj_scale;
    ss += v * v;
  }
  const float inv = inversesqrt(wg_sum(ss) / float(p.seg) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.seg; i += WG_SIZE) {
    const float normed = proj[base + i] * p.proj_scale * inv * norm_w[i];
    outv[base + i] = (normed + tok[base + i] * p.tok_scale) * p.combine;
  }
}
