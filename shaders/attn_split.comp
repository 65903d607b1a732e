#version 450
#include "kv_type.glsl"
#include "common.glsl"

// Split-K decode attention, pass 1: one workgroup per (key chunk s, query head h). The chunk is the CHUNK keys
// [kv_start + s * CHUNK, ...) of the kv_len keys; GQA, layout, scale and softcap as attn_decode.comp. Writes the
// chunk's unnormalized partial result to part[(h * n_splits + s) * (head_dim + 2) ...]: head_dim floats
// sum_t exp(score_t - m) v_t, then m (chunk max score) and l (sum_t exp(score_t - m)). attn_split_combine.comp
// merges the chunks. Scores: one subgroup per key, lanes across head_dim (coalesced K reads).
layout(constant_id = 1) const uint CHUNK = 128;
layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { KV_SCALAR k_cache[]; };
layout(std430, binding = 2) readonly buffer V { KV_SCALAR v_cache[]; };
layout(std430, binding = 3) writeonly buffer Part { float part[]; };
layout(push_constant) uniform Params {
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint kv_start;
  uint kv_len;
  float scale;
  float softcap;
  uint n_splits;
} p;

shared float q_s[256];
shared float w_s[CHUNK];

void main() {
  const uint s = gl_WorkGroupID.x, h = gl_WorkGroupID.y;
  const uint tid = gl_LocalInvocationID.x;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint kv_stride = p.n_kv_heads * p.head_dim;
  const uint t0 = s * CHUNK;
  const uint len = min(CHUNK, p.kv_len - t0);
  const float neg_inf = uintBitsToFloat(0xff800000u);
  for (uint d = tid; d < p.head_dim; d += WG_SIZE) q_s[d] = q[h * p.head_dim + d] * p.scale;
  barrier();
  for (uint t = gl_SubgroupID; t < len; t += gl_NumSubgroups) {
    const uint k_base = (p.kv_start + t0 + t) * kv_stride + kvh * p.head_dim;
    float partial = 0.0;
    for (uint d = gl_SubgroupInvocationID; d < p.head_dim; d += gl_SubgroupSize)
      partial += q_s[d] * float(k_cache[k_base + d]);
    float sc = subgroupAdd(partial);
    if (p.softcap > 0.0) sc = p.softcap * tanh(clamp(sc / p.softcap, -15.0, 15.0));
    if (subgroupElect()) w_s[t] = sc;
  }
  barrier();
  float local_max = neg_inf;
  for (uint t = tid; t < len; t += WG_SIZE) local_max = max(local_max, w_s[t]);
  const float m = wg_max(local_max);  // barriers inside: the w_s reads above are done before the writes below
  float local_sum = 0.0;
  for (uint t = tid; t < len; t += WG_SIZE) {
    const float e = exp(w_s[t] - m);
    w_s[t] = e;
    local_sum += e;
  }
  const float l = wg_sum(local_sum);  // also orders the w_s writes before the reads below
  const uint base = (h * p.n_splits + s) * (p.head_dim + 2u);
  for (uint d = tid; d < p.head_dim; d += WG_SIZE) {
    float acc = 0.0;
    for (uint t = 0; t < len; ++t)
      acc += w_s[t] * float(v_cache[(p.kv_start + t0 + t) * kv_stride + kvh * p.head_dim + d]);
    part[base + d] = acc;
  }
  if (tid == 0) {
    part[base + p.head_dim] = m;
    part[base + p.head_dim + 1u] = l;
  }
}
