#version 450
#include "common.glsl"

// Gemma 3n, a layer's start for one token per workgroup, in one dispatch instead of up to eight (and a copy):
//   pl_mode != 0: the previous layer's per-layer output pl is normed and added to streams 1..N-1:
//                 stream_s += rmsnorm(pl) * gain(pl_mode, pl_w)
//   predict != 0: mod = tanh(router . (rmsnorm(stream_A) * router_w))   (router: N x hidden, the 1 / hidden folded in)
//                 pred_j = stream_j + sum_i (predict[(j N + i) N ..] . mod) stream_i   for every stream j
//                 active = pred_A, xn = rmsnorm(active) * gain(mode, w)
// Streams (and pred) are [N][stride] floats, token t's row of stream s at s * stride + t * hidden; pl, active and xn
// are [n_tokens][hidden]. Each invocation keeps to its own elements i = lid + k * WG_SIZE in every step (the row
// sums go through shared memory), so no step reads another invocation's global writes.
layout(std430, binding = 0) buffer Streams { float streams[]; };
layout(std430, binding = 1) readonly buffer PL { float pl[]; };
layout(std430, binding = 2) readonly buffer PLW { float pl_w[]; };
layout(std430, binding = 3) readonly buffer RouterW { float router_w[]; };
layout(std430, binding = 4) readonly buffer Router { float router[]; };
layout(std430, binding = 5) readonly buffer Coef { float predict[]; };
layout(std430, binding = 6) readonly buffer NormW { float norm_w[]; };
layout(std430, binding = 7) writeonly buffer Pred { float pred[]; };
layout(std430, binding = 8) buffer Active { float active_row[]; };
layout(std430, binding = 9) writeonly buffer Xn { float xn[]; };
layout(push_constant) uniform Params {
  uint n_streams;  // at most 8
  uint hidden;
  uint stride;
  uint active_stream;
  float eps;
  uint pl_mode;  // 0: no per-layer add; 1 w, 2 1 + w
  uint predict;  // 0: stop after the per-layer add
  uint mode;     // xn's weight: 1 w, 2 1 + w
} p;

shared float coef[64];


float inv_rms(float ss) { return inversesqrt(wg_sum(ss) / float(p.hidden) + p.eps); }

void main() {
  const uint t = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x, H = p.hidden, N = p.n_streams;
  const uint row = t * H;
  if (p.pl_mode != 0u) {  // uniform over the workgroup, as every branch around wg_sum here
    float ss = 0.0;
    for (uint i = lid; i < H; i += WG_SIZE) ss += pl[row + i] * pl[row + i];
    const float inv = inv_rms(ss);
    for (uint i = lid; i < H; i += WG_SIZE) {
      const float v = pl[row + i] * inv * gain(p.pl_mode, pl_w[i]);
      for (uint s = 1u; s < N; ++s) streams[s * p.stride + row + i] += v;
    }
  }
  if (p.predict == 0u) return;
  const uint a = p.active_stream * p.stride + row;
  float ss = 0.0;
  for (uint i = lid; i < H; i += WG_SIZE) ss += streams[a + i] * streams[a + i];
  const float inv = inv_rms(ss);
  float dots[8] = float[8](0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  for (uint i = lid; i < H; i += WG_SIZE) {
    const float r = streams[a + i] * inv * router_w[i];
    for (uint m = 0u; m < 8u; ++m)
      if (m < N) dots[m] += router[m * H + i] * r;
  }
  float mod_[8];
  // tanh saturates in float long before |v| = 15; the clamp keeps drivers' exp-based tanh finite (as unary.comp).
  for (uint m = 0u; m < 8u; ++m) mod_[m] = m < N ? tanh(clamp(wg_sum(dots[m]), -15.0, 15.0)) : 0.0;
  if (lid < N * N) {
    float c = 0.0;
    for (uint m = 0u; m < N; ++m) c += predict[lid * N + m] * mod_[m];
    coef[lid] = c;
  }
  barrier();
  float ss_active = 0.0;
  for (uint i = lid; i < H; i += WG_SIZE) {
    for (uint j = 0u; j < N; ++j) {
      float acc = 0.0;
      for (uint k = 0u; k < N; ++k) acc += coef[j * N + k] * streams[k * p.stride + row + i];
      const float v = acc + streams[j * p.stride + row + i];
      pred[j * p.stride + row + i] = v;
      if (j == p.active_stream) {
        active_row[row + i] = v;
        ss_active += v * v;
      }
    }
  }
  const float inv_a = inv_rms(ss_active);
  // active_row[row + i] was written above by this same invocation.
  for (uint i = lid; i < H; i += WG_SIZE) xn[row + i] = active_row[row + i] * inv_a * gain(p.mode, norm_w[i]);
}
