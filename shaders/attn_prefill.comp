#version 450
#include "kv_type.glsl"
// Tiled causal attention for prefill (flash-attention style, fp32 online softmax). Queries are n_q tokens at
// positions [pos, pos + n_q), laid out [token][n_heads][head_dim]; keys/values come from caches laid out
// [position][n_kv_heads][head_dim] that already hold positions [0, pos + n_q). A query at position p sees keys j with
// j <= p and, when window > 0, j > p - window. GQA: query head h reads KV head h / (n_heads / n_kv_heads).
// score = softcap(scale * q.k) (softcap > 0: cap * tanh(s / cap)); out[token][h] = softmax(score) . V.
// One workgroup per (block of BQ queries, query head); per tile of BKV keys: scores into shared memory, row
// maxima / sums updated online, the BQ x head_dim output accumulated in registers.
// Specialization constants: 0 workgroup size, 1 BQ, 2 BKV, 3 HD (= head_dim; the host checks
// BQ * HD <= WG_SIZE * O_MAX and WG_SIZE >= BQ).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;
layout(constant_id = 1) const uint BQ = 16;
layout(constant_id = 2) const uint BKV = 32;
layout(constant_id = 3) const uint HD = 128;
const uint O_MAX = 16u;  // output elements per invocation at most
const uint KVS = HD + 1u;  // padded K/V row: the score loop's invocations read different rows, same column

layout(std430, binding = 0) readonly buffer Q { float q_in[]; };
layout(std430, binding = 1) readonly buffer K { KV_SCALAR k_cache[]; };
layout(std430, binding = 2) readonly buffer V { KV_SCALAR v_cache[]; };
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint n_q;
  uint n_heads;
  uint n_kv_heads;
  uint pos;
  uint window;  // 0: full causal
  float scale;
  float softcap;  // 0: none
} p;

shared float q_tile[BQ * HD];
shared float kv_tile[BKV * KVS];
shared float s_tile[BQ * BKV];
shared float alpha_s[BQ];
shared float l_s[BQ];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint q0 = gl_WorkGroupID.x * BQ;
  const uint h = gl_WorkGroupID.y;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint q1 = min(q0 + BQ, p.n_q);
  const float neg_inf = uintBitsToFloat(0xff800000u);

  for (uint i = tid; i < BQ * HD; i += WG_SIZE) {
    const uint qi = i / HD, d = i % HD;
    q_tile[i] = q0 + qi < q1 ? q_in[((q0 + qi) * p.n_heads + h) * HD + d] * p.scale : 0.0;
  }
  float o[O_MAX];
  for (uint i = 0; i < O_MAX; ++i) o[i] = 0.0;
  float m = neg_inf, l = 0.0;  // running max and sum of row tid (invocations tid < BQ)

  const uint p_min = p.pos + q0, p_max = p.pos + q1 - 1u;
  const uint kv_lo = (p.window > 0u && p_min + 1u > p.window) ? p_min + 1u - p.window : 0u;
  const uint kv_hi = p_max + 1u;
  for (uint j0 = kv_lo; j0 < kv_hi; j0 += BKV) {
    barrier();  // the previous tile's V reads are done
    for (uint i = tid; i < BKV * HD; i += WG_SIZE) {
      const uint kk = i / HD, d = i % HD, j = j0 + kk;
      kv_tile[kk * KVS + d] = j < kv_hi ? float(k_cache[(j * p.n_kv_heads + kvh) * HD + d]) : 0.0;
    }
    barrier();
    for (uint i = tid; i < BQ * BKV; i += WG_SIZE) {
      const uint qi = i / BKV, kk = i % BKV;
      const uint j = j0 + kk, qp = p.pos + q0 + qi;
      float s = neg_inf;
      if (q0 + qi < q1 && j <= qp && (p.window == 0u || j + p.window > qp)) {
        s = 0.0;
        for (uint d = 0; d < HD; ++d) s += q_tile[qi * HD + d] * kv_tile[kk * KVS + d];
        if (p.softcap > 0.0) s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
      }
      s_tile[i] = s;
    }
    barrier();
    // Row owners turn scores into weights and rescale factors while everyone loads the V tile over the K tile.
    if (tid < BQ) {
      float tile_max = neg_inf;
      for (uint kk = 0; kk < BKV; ++kk) tile_max = max(tile_max, s_tile[tid * BKV + kk]);
      const float m_new = max(m, tile_max);
      float alpha = 1.0, sum = 0.0;
      if (!(isinf(m_new) && m_new < 0.0)) {
        alpha = exp(m - m_new);
        for (uint kk = 0; kk < BKV; ++kk) {
          const float e = exp(s_tile[tid * BKV + kk] - m_new);
          s_tile[tid * BKV + kk] = e;
          sum += e;
        }
      } else {
        for (uint kk = 0; kk < BKV; ++kk) s_tile[tid * BKV + kk] = 0.0;
      }
      l = l * alpha + sum;
      m = m_new;
      alpha_s[tid] = alpha;
      l_s[tid] = l;
    }
    for (uint i = tid; i < BKV * HD; i += WG_SIZE) {
      const uint kk = i / HD, d = i % HD, j = j0 + kk;
      kv_tile[kk * KVS + d] = j < kv_hi ? float(v_cache[(j * p.n_kv_heads + kvh) * HD + d]) : 0.0;
    }
    barrier();
    for (uint i = 0; i < O_MAX; ++i) {
      const uint e = tid + i * WG_SIZE;
      if (e >= BQ * HD) break;
      const uint qi = e / HD, d = e % HD;
      float acc = o[i] * alpha_s[qi];
      for (uint kk = 0; kk < BKV; ++kk) acc += s_tile[qi * BKV + kk] * kv_tile[kk * KVS + d];
      o[i] = acc;
    }
  }
  barrier();
  for (uint i = 0; i < O_MAX; ++i) {
    const uint e = tid + i * WG_SIZE;
    if (e >= BQ * HD) break;
    const uint qi = e / HD, d = e % HD;
    if (q0 + qi >= q1) break;
    const float lq = l_s[qi];
    outv[((q0 + qi) * p.n_heads + h) * HD + d] = lq > 0.0 ? o[i] / lq : 0.0;
  }
}
