#version 450
#include "common.glsl"

// Gemma 3n, a layer's AltUp end for one token per workgroup, in one dispatch instead of five:
//   h' = h + rmsnorm(d) * gain(post_mode, dw)                 (the layer's output for the active stream)
//   mod = tanh(router . (rmsnorm(h') * router_w))              (router: N x hidden, the 1 / hidden folded in)
//   stream_s = (h' - pred_A) * (1 + correct[s N ..] . mod) + pred_s   for every stream s
//   gate = stream_A * out_scale (or stream_A without out_scale): the per-layer gate's input
// Layouts as altup_enter.comp; h, d and gate are [n_tokens][hidden]. Each invocation keeps to its own elements.
layout(std430, binding = 0) readonly buffer Hs { float h[]; };
layout(std430, binding = 1) readonly buffer D { float d[]; };
layout(std430, binding = 2) readonly buffer DW { float dw[]; };
layout(std430, binding = 3) readonly buffer RouterW { float router_w[]; };
layout(std430, binding = 4) readonly buffer Router { float router[]; };
layout(std430, binding = 5) readonly buffer Coef { float correct[]; };
layout(std430, binding = 6) readonly buffer Pred { float pred[]; };
layout(std430, binding = 7) writeonly buffer Streams { float streams[]; };
layout(std430, binding = 8) readonly buffer OutScale { float out_scale[]; };
layout(std430, binding = 9) writeonly buffer Gate { float gate[]; };
layout(push_constant) uniform Params {
  uint n_streams;  // at most 8
  uint hidden;
  uint stride;
  uint active_stream;
  float eps;
  uint post_mode;  // 1 w, 2 1 + w
  uint has_out_scale;
} p;


float inv_rms(float ss) { return inversesqrt(wg_sum(ss) / float(p.hidden) + p.eps); }

void main() {
  const uint t = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x, H = p.hidden, N = p.n_streams;
  const uint row = t * H;
  float ssd = 0.0;
  for (uint i = lid; i < H; i += WG_SIZE) ssd += d[row + i] * d[row + i];
  const float post = inv_rms(ssd);
  float ss = 0.0;
  for (uint i = lid; i < H; i += WG_SIZE) {
    const float v = h[row + i] + d[row + i] * post * gain(p.post_mode, dw[i]);
    ss += v * v;
  }
  const float inv = inv_rms(ss);
  float dots[8] = float[8](0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  for (uint i = lid; i < H; i += WG_SIZE) {
    const float r = (h[row + i] + d[row + i] * post * gain(p.post_mode, dw[i])) * inv * router_w[i];
    for (uint m = 0u; m < 8u; ++m)
      if (m < N) dots[m] += router[m * H + i] * r;
  }
  float mod_[8];
  // tanh saturates in float long before |v| = 15; the clamp keeps drivers' exp-based tanh finite (as unary.comp).
  for (uint m = 0u; m < 8u; ++m) mod_[m] = m < N ? tanh(clamp(wg_sum(dots[m]), -15.0, 15.0)) : 0.0;
  const uint a = p.active_stream * p.stride + row;
  for (uint i = lid; i < H; i += WG_SIZE) {
    const float v = h[row + i] + d[row + i] * post * gain(p.post_mode, dw[i]);
    const float innov = v - pred[a + i];
    for (uint s = 0u; s < N; ++s) {
      float c = 1.0;
      for (uint m = 0u; m < N; ++m) c += correct[s * N + m] * mod_[m];
      const float v_out = innov * c + pred[s * p.stride + row + i];
      streams[s * p.stride + row + i] = v_out;
      if (s == p.active_stream) gate[row + i] = p.has_out_scale != 0u ? v_out * out_scale[i] : v_out;
    }
  }
}
