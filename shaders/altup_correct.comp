#version 450
#include "common.glsl"

// Gemma 3n AltUp correct, one workgroup per token t. pred and out hold N streams at [s * stride + t * n ...];
// act (n_tokens x n) is the layer's output for the active stream. mod = router modalities of act (altup.glsl);
// out[s] = (act - pred[active]) * (1 + sum_m correct_w[s * N + m] * mod[m]) + pred[s]. out may alias pred.
layout(std430, binding = 0) readonly buffer Pred { float pred[]; };
layout(std430, binding = 1) readonly buffer Act { float act[]; };
layout(std430, binding = 2) readonly buffer NormW { float norm_w[]; };
layout(std430, binding = 3) readonly buffer Router { float router_w[]; };
layout(std430, binding = 4) readonly buffer CorrectW { float correct_w[]; };
layout(std430, binding = 5) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params { uint n; uint nn; uint stride; uint active_stream; float eps; } p;

float load_x(uint i) { return act[i]; }
#include "altup.glsl"

shared float gain_s[MAX_N];

void main() {
  const uint t = gl_WorkGroupID.x;
  altup_modalities(t * p.n, p.n, p.nn, p.eps);
  for (uint s = gl_LocalInvocationID.x; s < p.nn; s += WG_SIZE) {
    float g = 1.0;
    for (uint m = 0; m < p.nn; ++m) g += correct_w[s * p.nn + m] * mod_s[m];
    gain_s[s] = g;
  }
  barrier();
  for (uint c = gl_LocalInvocationID.x; c < p.n; c += WG_SIZE) {
    const uint e = t * p.n + c;
    const float innov = act[e] - pred[p.active_stream * p.stride + e];
    float ps[MAX_N];
    for (uint s = 0; s < p.nn; ++s) ps[s] = pred[s * p.stride + e];
    for (uint s = 0; s < p.nn; ++s) outv[s * p.stride + e] = innov * gain_s[s] + ps[s];
  }
}
