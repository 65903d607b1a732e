#version 450
#include "kv_type.glsl"
// Tiled causal attention for prefill, register-blocked (flash-attention style, fp32 online softmax); the same
// result as attn_prefill.comp. Queries are n_q tokens at positions [pos, pos + n_q), laid out
// [token][n_heads][head_dim]; keys/values come from caches laid out [position][n_kv_heads][head_dim] that already
// hold positions [0, pos + n_q). A query at position p sees keys j with j <= p and, when window > 0, j > p - window.
// GQA: query head h reads KV head h / (n_heads / n_kv_heads). score = softcap(scale * q.k) (softcap > 0:
// cap * tanh(s / cap)); out[token][h] = softmax(score) . V.
// One workgroup per (block of BQ queries, query head). The invocations form WG_SIZE / 8 row groups of 8 lanes;
// group g owns query rows [g * SQ, (g + 1) * SQ) in both phases, so each row's running max, sum and output stay in
// that group's registers:
//  - scores: lane t computes the SQ x SK block of rows g * SQ + i, keys t + 8 c (vec4 dot products over vec4
//    shared tiles: SQ + SK loads for SQ * SK dot products);
//  - softmax: the row's tile max is reduced over its 8 lanes through shared memory; each lane exponentiates its own
//    SK scores and keeps a partial row sum (the 8 partials are added once, at the end);
//  - P.V: lane t accumulates vec4 columns t + 8 n (n < NV) of its SQ rows (SQ + NV loads for SQ * NV vec4 FMAs).
// Specialization constants: 0 workgroup size, 1 BQ, 2 BKV, 3 HD (= head_dim). The host guarantees HD % 4 == 0,
// HD <= 256, BQ = SQ * WG_SIZE / 8 with SQ <= SQ_MAX, BKV = 8 * SK with SK <= SK_MAX, and that the tiles fit the
// device's shared memory.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;
layout(constant_id = 1) const uint BQ = 32;
layout(constant_id = 2) const uint BKV = 32;
layout(constant_id = 3) const uint HD = 64;
const uint LANES = 8u;
const uint SQ = BQ / (WG_SIZE / LANES);      // query rows per row group
const uint SK = BKV / LANES;                 // keys per lane in the score block
const uint HD4 = HD / 4u;
const uint NV = (HD4 + LANES - 1u) / LANES;  // output vec4 columns per lane (the last one partial unless HD4 % 8 == 0)
const uint SQ_MAX = 2u, SK_MAX = 4u, NV_MAX = 8u;
// Padded rows: the score loop's 8 lanes read 8 different key rows at one column, the P.V loop's row groups read
// different rows of s_tile at one key.
const uint KS4 = HD4 + 1u;
const uint SS = BKV + 1u;

layout(std430, binding = 0) readonly buffer Q { vec4 q_in[]; };
layout(std430, binding = 1) readonly buffer K { KV_VEC4 k_cache[]; };
layout(std430, binding = 2) readonly buffer V { KV_VEC4 v_cache[]; };
layout(std430, binding = 3) writeonly buffer Out { vec4 outv[]; };
layout(push_constant) uniform Params {
  uint n_q;
  uint n_heads;
  uint n_kv_heads;
  uint pos;
  uint window;  // 0: full causal
  float scale;
  float softcap;  // 0: none
} p;

shared vec4 q_tile[BQ * HD4];
shared vec4 kv_tile[BKV * KS4];  // the K tile, then the V tile of the same keys
shared float s_tile[BQ * SS];    // softmax weights of the tile
shared float red[BQ * LANES];    // per-lane partial row maxima (per tile), then partial row sums (at the end)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint lane = tid % LANES, row0 = (tid / LANES) * SQ;
  const uint q0 = gl_WorkGroupID.x * BQ;
  const uint h = gl_WorkGroupID.y;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint q1 = min(q0 + BQ, p.n_q);
  const float neg_inf = uintBitsToFloat(0xff800000u);

  for (uint i = tid; i < BQ * HD4; i += WG_SIZE) {
    const uint qi = i / HD4, d = i % HD4;
    q_tile[i] = q0 + qi < q1 ? q_in[((q0 + qi) * p.n_heads + h) * HD4 + d] * p.scale : vec4(0.0);
  }
  vec4 o[SQ_MAX * NV_MAX];
  for (uint i = 0; i < SQ_MAX * NV_MAX; ++i) o[i] = vec4(0.0);
  // Running max (the same in all 8 lanes of a row) and this lane's share of the running sum, per row.
  float m[SQ_MAX], l[SQ_MAX];
  for (uint i = 0; i < SQ_MAX; ++i) {
    m[i] = neg_inf;
    l[i] = 0.0;
  }

  const uint p_min = p.pos + q0, p_max = p.pos + q1 - 1u;
  const uint kv_lo = (p.window > 0u && p_min + 1u > p.window) ? p_min + 1u - p.window : 0u;
  const uint kv_hi = p_max + 1u;
  for (uint j0 = kv_lo; j0 < kv_hi; j0 += BKV) {
    barrier();  // the previous tile's V and weight reads are done
    for (uint i = tid; i < BKV * HD4; i += WG_SIZE) {
      const uint kk = i / HD4, d = i % HD4, j = j0 + kk;
      kv_tile[kk * KS4 + d] = j < kv_hi ? vec4(k_cache[(j * p.n_kv_heads + kvh) * HD4 + d]) : vec4(0.0);
    }
    barrier();
    float s[SQ_MAX * SK_MAX];
    for (uint i = 0; i < SQ_MAX * SK_MAX; ++i) s[i] = 0.0;
    for (uint d = 0; d < HD4; ++d) {
      vec4 qv[SQ_MAX];
      for (uint i = 0; i < SQ; ++i) qv[i] = q_tile[(row0 + i) * HD4 + d];
      for (uint c = 0; c < SK; ++c) {
        const vec4 kv = kv_tile[(lane + c * LANES) * KS4 + d];
        for (uint i = 0; i < SQ; ++i) s[i * SK_MAX + c] += dot(qv[i], kv);
      }
    }
    for (uint i = 0; i < SQ; ++i) {
      const uint qi = row0 + i, qp = p.pos + q0 + qi;
      float mx = neg_inf;
      for (uint c = 0; c < SK; ++c) {
        const uint j = j0 + lane + c * LANES;
        float x = neg_inf;
        // j <= qp also keeps the zero-padded keys past kv_hi out.
        if (q0 + qi < q1 && j <= qp && (p.window == 0u || j + p.window > qp)) {
          x = s[i * SK_MAX + c];
          if (p.softcap > 0.0) x = p.softcap * tanh(clamp(x / p.softcap, -15.0, 15.0));
        }
        s[i * SK_MAX + c] = x;
        mx = max(mx, x);
      }
      red[qi * LANES + lane] = mx;
    }
    barrier();  // partial maxima written; the K tile is no longer read
    float alpha[SQ_MAX];
    for (uint i = 0; i < SQ; ++i) {
      const uint qi = row0 + i;
      float mx = m[i];
      for (uint t = 0; t < LANES; ++t) mx = max(mx, red[qi * LANES + t]);
      const bool empty = isinf(mx) && mx < 0.0;  // no key of this row so far: exp(-inf - -inf) would be NaN
      alpha[i] = empty ? 1.0 : exp(m[i] - mx);
      float sum = 0.0;
      for (uint c = 0; c < SK; ++c) {
        const float e = empty ? 0.0 : exp(s[i * SK_MAX + c] - mx);
        s_tile[qi * SS + lane + c * LANES] = e;
        sum += e;
      }
      l[i] = l[i] * alpha[i] + sum;
      m[i] = mx;
    }
    for (uint i = tid; i < BKV * HD4; i += WG_SIZE) {
      const uint kk = i / HD4, d = i % HD4, j = j0 + kk;
      kv_tile[kk * KS4 + d] = j < kv_hi ? vec4(v_cache[(j * p.n_kv_heads + kvh) * HD4 + d]) : vec4(0.0);
    }
    barrier();
    for (uint i = 0; i < SQ; ++i)
      for (uint n = 0; n < NV; ++n) o[i * NV_MAX + n] *= alpha[i];
    for (uint kk = 0; kk < BKV; ++kk) {
      float w[SQ_MAX];
      for (uint i = 0; i < SQ; ++i) w[i] = s_tile[(row0 + i) * SS + kk];
      for (uint n = 0; n < NV; ++n) {
        const uint d = lane + n * LANES;
        if (d < HD4) {
          const vec4 v = kv_tile[kk * KS4 + d];
          for (uint i = 0; i < SQ; ++i) o[i * NV_MAX + n] += w[i] * v;
        }
      }
    }
  }
  // The last tile's reads of red ended before its final barrier, so the partial sums may overwrite it now.
  for (uint i = 0; i < SQ; ++i) red[(row0 + i) * LANES + lane] = l[i];
  barrier();
  for (uint i = 0; i < SQ; ++i) {
    const uint qi = row0 + i;
    if (q0 + qi >= q1) break;
    float lq = 0.0;
    for (uint t = 0; t < LANES; ++t) lq += red[qi * LANES + t];
    for (uint n = 0; n < NV; ++n) {
      const uint d = lane + n * LANES;
      if (d < HD4) outv[((q0 + qi) * p.n_heads + h) * HD4 + d] = lq > 0.0 ? o[i * NV_MAX + n] / lq : vec4(0.0);
    }
  }
}
