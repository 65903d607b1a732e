#version 450
#include "kv_type.glsl"
#include "common.glsl"

// Decode attention for one query token, one workgroup per query head (GQA: n_heads / n_kv_heads query heads share
// a KV head). Keys/values of positions [kv_start, kv_start + kv_len) (a sliding window is a later kv_start) are
// read from caches laid out [position][kv_head][head_dim]. scores (n_heads * kv_len floats) is scratch.
// out = softmax(softcap(scale * q.k)) . V; softcap > 0 applies cap * tanh(s / cap) (Gemma 2 style), 0 disables it.
layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { KV_SCALAR k_cache[]; };
layout(std430, binding = 2) readonly buffer V { KV_SCALAR v_cache[]; };
layout(std430, binding = 3) buffer Scores { float scores[]; };
layout(std430, binding = 4) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint kv_start;
  uint kv_len;
  float scale;
  float softcap;
} p;

void main() {
  const uint h = gl_WorkGroupID.x;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint q_base = h * p.head_dim;
  const uint kv_stride = p.n_kv_heads * p.head_dim;
  const uint s_base = h * p.kv_len;
  const float neg_inf = uintBitsToFloat(0xff800000u);

  float local_max = neg_inf;
  for (uint t = gl_LocalInvocationID.x; t < p.kv_len; t += WG_SIZE) {
    const uint k_base = (p.kv_start + t) * kv_stride + kvh * p.head_dim;
    float s = 0.0;
    for (uint d = 0; d < p.head_dim; ++d) s += q[q_base + d] * float(k_cache[k_base + d]);
    s *= p.scale;
    if (p.softcap > 0.0) s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
    scores[s_base + t] = s;
    local_max = max(local_max, s);
  }
  const float m = wg_max(local_max);
  float local_sum = 0.0;
  for (uint t = gl_LocalInvocationID.x; t < p.kv_len; t += WG_SIZE) {
    const float e = exp(scores[s_base + t] - m);
    scores[s_base + t] = e;
    local_sum += e;
  }
  const float inv = 1.0 / wg_sum(local_sum);
  // The weights written above by other invocations must be visible before the weighted sum reads them.
  memoryBarrierBuffer();
  barrier();
  for (uint d = gl_LocalInvocationID.x; d < p.head_dim; d += WG_SIZE) {
    float acc = 0.0;
    for (uint t = 0; t < p.kv_len; ++t) {
      acc += scores[s_base + t] * float(v_cache[(p.kv_start + t) * kv_stride + kvh * p.head_dim + d]);
    }
    outv[q_base + d] = acc * inv;
  }
}
