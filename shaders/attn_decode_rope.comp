#version 450
#include "kv_type.glsl"
#include "common.glsl"

// Decode attention with rope_store.comp folded in (one dispatch instead of two): one workgroup per query head, as
// attn_decode_v4.comp (head_dim % 4 == 0, head_dim <= 4 * WG_SIZE). The workgroup normalizes (q_norm) and rotates
// its query head in shared memory; when the layer owns its KV cache (owns_kv) it also normalizes and rotates the
// token's key and normalizes its value for its KV head, the first query head of each group writes them to the
// caches at position kv_start + kv_len - 1, and every head uses its own copy for that position (so no workgroup
// reads a cache row another one is writing). Norm modes and RoPE as rope_store.comp.
layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float k[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
layout(std430, binding = 3) readonly buffer CosSin { float cs[]; };
layout(std430, binding = 4) readonly buffer QW { float qw[]; };
layout(std430, binding = 5) readonly buffer KW { float kw[]; };
layout(std430, binding = 6) buffer KC { KV_VEC4 k4[]; };
layout(std430, binding = 7) buffer VC { KV_VEC4 v4[]; };
layout(std430, binding = 8) buffer Scores { float scores[]; };
layout(std430, binding = 9) writeonly buffer Out { vec4 out4[]; };
layout(push_constant) uniform Params {
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint kv_start;
  uint kv_len;  // positions [kv_start, kv_start + kv_len); the last is the current token's
  float scale;
  float softcap;
  uint interleaved;
  uint cs_offset;
  uint q_norm;
  uint k_norm;
  uint v_norm;
  float eps;
  uint owns_kv;
} p;

shared float qh[4 * WG_SIZE], kh[4 * WG_SIZE], vh[4 * WG_SIZE];  // this head's query, new key and value

float gain(uint mode, float w) { return mode == 1u ? w : (mode == 2u ? 1.0 + w : 1.0); }

// head (hd floats of src at base) -> dst, RMS-normalized in `mode` (weights w_is_q ? qw : kw), then rotated.
// Contains barriers: call from uniform control flow.
#define NORM_ROPE(src, base, mode, w_is_q, dst)                                                        \
  {                                                                                                    \
    for (uint i = tid; i < hd; i += WG_SIZE) dst[i] = src[(base) + i];                                 \
    float ss = 0.0;                                                                                    \
    for (uint i = tid; i < hd; i += WG_SIZE) ss += dst[i] * dst[i];                                    \
    const float inv = (mode) != 0u ? inversesqrt(wg_sum(ss) / float(hd) + p.eps) : 1.0;               \
    barrier();                                                                                         \
    for (uint i = tid; i < half_dim; i += WG_SIZE) {                                                   \
      const uint ia = p.interleaved != 0u ? 2u * i : i, ib = p.interleaved != 0u ? ia + 1u : ia + half_dim; \
      float a = dst[ia] * inv, b = dst[ib] * inv;                                                      \
      if ((mode) == 1u || (mode) == 2u) {                                                              \
        a *= gain((mode), (w_is_q) ? qw[ia] : kw[ia]);                                                 \
        b *= gain((mode), (w_is_q) ? qw[ib] : kw[ib]);                                                 \
      }                                                                                                \
      const float c = cs[p.cs_offset + i], s = cs[p.cs_offset + half_dim + i];                         \
      dst[ia] = a * c - b * s;                                                                         \
      dst[ib] = b * c + a * s;                                                                         \
    }                                                                                                  \
    barrier();                                                                                         \
  }

vec4 shared4(uint d, bool key) {
  return key ? vec4(kh[4u * d], kh[4u * d + 1u], kh[4u * d + 2u], kh[4u * d + 3u])
             : vec4(vh[4u * d], vh[4u * d + 1u], vh[4u * d + 2u], vh[4u * d + 3u]);
}
// The current token (t = kv_len - 1) of a layer that owns its cache: this workgroup's own copy.
bool current(uint t) { return p.owns_kv != 0u && t == p.kv_len - 1u; }
vec4 query4(uint h, uint d) { return vec4(qh[4u * d], qh[4u * d + 1u], qh[4u * d + 2u], qh[4u * d + 3u]); }
vec4 key4(uint t, uint d, uint i) { return current(t) ? shared4(d, true) : vec4(k4[i]); }
vec4 value4(uint t, uint d, uint i) { return current(t) ? shared4(d, false) : vec4(v4[i]); }
#include "attn_decode_body.glsl"

void main() {
  const uint h = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
  const uint group = p.n_heads / p.n_kv_heads, kvh = h / group;
  const uint hd = p.head_dim, half_dim = hd / 2u, hd4 = hd / 4u;
  const uint kv_stride = p.n_kv_heads * hd4;
  const bool owns = p.owns_kv != 0u;

  NORM_ROPE(q, h * hd, p.q_norm, true, qh)
  if (owns) {  // uniform over the workgroup
    NORM_ROPE(k, kvh * hd, p.k_norm, false, kh)
    for (uint i = tid; i < hd; i += WG_SIZE) vh[i] = v[kvh * hd + i];
    float ss = 0.0;
    for (uint i = tid; i < hd; i += WG_SIZE) ss += vh[i] * vh[i];
    const float vinv = p.v_norm != 0u ? inversesqrt(wg_sum(ss) / float(hd) + p.eps) : 1.0;
    barrier();
    for (uint i = tid; i < hd; i += WG_SIZE) vh[i] *= vinv;
#ifdef KV_F16
    // Use the token's key and value as the cache holds them (rounded to F16), like the other positions.
    for (uint i = tid; i < hd; i += WG_SIZE) {
      kh[i] = unpackHalf2x16(packHalf2x16(vec2(kh[i], 0.0))).x;
      vh[i] = unpackHalf2x16(packHalf2x16(vec2(vh[i], 0.0))).x;
    }
#endif
    barrier();
    if (h % group == 0u) {
      const uint row = (p.kv_start + p.kv_len - 1u) * kv_stride + kvh * hd4;
      for (uint d = tid; d < hd4; d += WG_SIZE) {
        k4[row + d] = KV_VEC4(shared4(d, true));
        v4[row + d] = KV_VEC4(shared4(d, false));
      }
    }
  }

  attend(h, kvh);
}
