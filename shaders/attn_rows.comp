#version 450
#include "kv_type.glsl"
#include "common.glsl"

// Attention of n_queries consecutive query tokens at positions q_pos0, q_pos0 + 1, ... (prefill), one workgroup per
// (query head, query token). Causal: query t sees positions [start, q_pos0 + t] where start = 0, or for a sliding
// window (window > 0) max(0, q_pos0 + t - window + 1). GQA: n_heads / n_kv_heads query heads share a KV head.
// q and out are [token][head][head_dim]; the caches [position][kv_head][head_dim]. scores is scratch of
// n_queries * n_heads * (q_pos0 + n_queries) floats. Same math as attn_decode.comp, one query row at a time.
layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { KV_SCALAR k_cache[]; };
layout(std430, binding = 2) readonly buffer V { KV_SCALAR v_cache[]; };
layout(std430, binding = 3) buffer Scores { float scores[]; };
layout(std430, binding = 4) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint q_pos0;
  uint window;
  float scale;
  float softcap;
} p;

void main() {
  const uint h = gl_WorkGroupID.x;
  const uint t = gl_WorkGroupID.y;
  const uint pos = p.q_pos0 + t;
  const uint start = (p.window > 0u && pos + 1u > p.window) ? pos + 1u - p.window : 0u;
  const uint len = pos - start + 1u;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint row = t * p.n_heads + h;
  const uint q_base = row * p.head_dim;
  const uint kv_stride = p.n_kv_heads * p.head_dim;
  const uint s_base = row * (p.q_pos0 + gl_NumWorkGroups.y);
  const float neg_inf = uintBitsToFloat(0xff800000u);

  float local_max = neg_inf;
  for (uint j = gl_LocalInvocationID.x; j < len; j += WG_SIZE) {
    const uint k_base = (start + j) * kv_stride + kvh * p.head_dim;
    float s = 0.0;
    for (uint d = 0; d < p.head_dim; ++d) s += q[q_base + d] * float(k_cache[k_base + d]);
    s *= p.scale;
    if (p.softcap > 0.0) s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
    scores[s_base + j] = s;
    local_max = max(local_max, s);
  }
  const float m = wg_max(local_max);
  float local_sum = 0.0;
  for (uint j = gl_LocalInvocationID.x; j < len; j += WG_SIZE) {
    const float e = exp(scores[s_base + j] - m);
    scores[s_base + j] = e;
    local_sum += e;
  }
  const float inv = 1.0 / wg_sum(local_sum);
  // The weights written above by other invocations must be visible before the weighted sum reads them.
  memoryBarrierBuffer();
  barrier();
  for (uint d = gl_LocalInvocationID.x; d < p.head_dim; d += WG_SIZE) {
    float acc = 0.0;
    for (uint j = 0; j < len; ++j) {
      acc += scores[s_base + j] * float(v_cache[(start + j) * kv_stride + kvh * p.head_dim + d]);
    }
    outv[q_base + d] = acc * inv;
  }
}
