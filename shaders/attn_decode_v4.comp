#version 450
#include "kv_type.glsl"
#include "common.glsl"

// attn_decode.comp's contract (one query token, one workgroup per query head, GQA, softcap) for head_dim % 4 == 0
// and head_dim <= 4 * WG_SIZE, reading q, K and V as vec4. The weighted sum over values is split across the
// workgroup: invocation (g, c) adds keys t = g, g + G, ... into vec4 column c (G = WG_SIZE / (head_dim / 4) groups),
// and the G partial sums are added in shared memory. attn_decode.comp gives each invocation one scalar column and
// walks all keys serially, which left decode latency-bound on a GPU. Up to SHARED_SCORES keys keep their scores in
// shared memory (the scores buffer is then untouched); longer windows use the scores buffer.
layout(std430, binding = 0) readonly buffer Q { vec4 q4[]; };
layout(std430, binding = 1) readonly buffer K { KV_VEC4 k4[]; };
layout(std430, binding = 2) readonly buffer V { KV_VEC4 v4[]; };
layout(std430, binding = 3) buffer Scores { float scores[]; };
layout(std430, binding = 4) writeonly buffer Out { vec4 out4[]; };
layout(push_constant) uniform Params {
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint kv_start;
  uint kv_len;
  float scale;
  float softcap;
} p;

shared vec4 partial4[WG_SIZE];
shared float qk_part[WG_SIZE];
const uint SHARED_SCORES = 1024u;
shared float score_sh[SHARED_SCORES];
bool scores_shared() { return p.kv_len <= SHARED_SCORES; }
float score_get(uint s_base, uint t) { return scores_shared() ? score_sh[t] : scores[s_base + t]; }
void score_set(uint s_base, uint t, float v) {
  if (scores_shared()) score_sh[t] = v;
  else scores[s_base + t] = v;
}

void main() {
  const uint h = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint hd4 = p.head_dim / 4u;
  const uint q_base = h * hd4;
  const uint kv_stride = p.n_kv_heads * hd4;
  const uint s_base = h * p.kv_len;
  const float neg_inf = uintBitsToFloat(0xff800000u);

  // Short windows leave most invocations without a key: then S (a power of two up to 8 dividing head_dim / 4)
  // invocations share each key's dot product and add their parts through shared memory.
  uint S = 1u;
  while (S < 8u && 2u * S * p.kv_len <= WG_SIZE && hd4 % (2u * S) == 0u) S *= 2u;
  const uint per = hd4 / S, sub = tid % S, keys_per_step = WG_SIZE / S;
  float local_max = neg_inf;
  for (uint t0 = 0; t0 < p.kv_len; t0 += keys_per_step) {  // the same trip count in every invocation
    const uint t = t0 + tid / S;
    float part = 0.0;
    if (t < p.kv_len) {
      const uint k_base = (p.kv_start + t) * kv_stride + kvh * hd4 + sub * per;
      vec4 acc = vec4(0.0);
      for (uint d = 0; d < per; ++d) acc += q4[q_base + sub * per + d] * vec4(k4[k_base + d]);
      part = acc.x + acc.y + acc.z + acc.w;
    }
    if (S > 1u) {
      qk_part[tid] = part;
      barrier();
      if (sub == 0u)
        for (uint j = 1u; j < S; ++j) part += qk_part[tid + j];
      barrier();
    }
    if (sub == 0u && t < p.kv_len) {
      float s = part * p.scale;
      if (p.softcap > 0.0) s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
      score_set(s_base, t, s);
      local_max = max(local_max, s);
    }
  }
  const float m = wg_max(local_max);
  float local_sum = 0.0;
  for (uint t = tid; t < p.kv_len; t += WG_SIZE) {
    const float e = exp(score_get(s_base, t) - m);
    score_set(s_base, t, e);
    local_sum += e;
  }
  const float inv = 1.0 / wg_sum(local_sum);
  // The weights written above by other invocations must be visible before the weighted sum reads them.
  memoryBarrierBuffer();
  memoryBarrierShared();
  barrier();
  const uint groups = WG_SIZE / hd4, col = tid % hd4, g = tid / hd4;
  vec4 acc = vec4(0.0);
  if (g < groups) {
    const uint v_base = p.kv_start * kv_stride + kvh * hd4 + col;
    for (uint t = g; t < p.kv_len; t += groups) acc += score_get(s_base, t) * vec4(v4[v_base + t * kv_stride]);
  }
  partial4[tid] = acc;
  barrier();
  if (tid < hd4) {
    vec4 total = vec4(0.0);
    for (uint i = 0; i < groups; ++i) total += partial4[i * hd4 + tid];
    out4[q_base + tid] = total * inv;
  }
}
