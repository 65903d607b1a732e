#version 450
#include "kv_type.glsl"
#include "common.glsl"

// The attention inputs of a layer after the q/k/v projections, in one dispatch: one workgroup per (head slot,
// token). Slots [0, n_heads) are query heads, rotated in place; slots [n_heads, n_heads + n_kv_heads) are key/value
// heads: the key rotated and written with the value to the caches at float offset dst + (token * n_kv_heads +
// head) * head_dim. Before rotating, a head may be RMS-normalized (norm modes: 0 none, 1 weight, 2 1 + weight,
// 3 no weight): q_norm / k_norm (Gemma), and the values with v_norm (Gemma 3n's unweighted norm). RoPE as rope.comp:
// token t uses the table row at cs_offset + t * head_dim (cosines, then sines); interleaved pairs (2i, 2i + 1),
// else (i, i + head_dim / 2). Replaces up to five dispatches and their barriers (q norm, rope, k norm, v norm,
// kv store).
layout(std430, binding = 0) buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float k[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
layout(std430, binding = 3) readonly buffer CosSin { float cs[]; };
layout(std430, binding = 4) readonly buffer QW { float qw[]; };
layout(std430, binding = 5) readonly buffer KW { float kw[]; };
layout(std430, binding = 6) writeonly buffer KC { KV_SCALAR k_cache[]; };
layout(std430, binding = 7) writeonly buffer VC { KV_SCALAR v_cache[]; };
layout(push_constant) uniform Params {
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint interleaved;
  uint cs_offset;
  uint dst;
  uint q_norm;
  uint k_norm;
  uint v_norm;
  float eps;
} p;


float head_value(bool is_q, uint i) { return is_q ? q[i] : k[i]; }

void main() {
  const uint slot = gl_WorkGroupID.x, token = gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
  const bool is_q = slot < p.n_heads;
  const uint head = is_q ? slot : slot - p.n_heads;
  const uint hd = p.head_dim, half_dim = hd / 2u;
  const uint base = (token * (is_q ? p.n_heads : p.n_kv_heads) + head) * hd;
  const uint mode = is_q ? p.q_norm : p.k_norm;
  float inv = 1.0;
  if (mode != 0u) {  // uniform over the workgroup
    float ss = 0.0;
    for (uint i = lid; i < hd; i += WG_SIZE) ss += head_value(is_q, base + i) * head_value(is_q, base + i);
    inv = inversesqrt(wg_sum(ss) / float(hd) + p.eps);
  }
  const uint row = p.cs_offset + token * hd;
  for (uint i = lid; i < half_dim; i += WG_SIZE) {
    const uint ia = p.interleaved != 0u ? 2u * i : i;
    const uint ib = p.interleaved != 0u ? ia + 1u : ia + half_dim;
    float a = head_value(is_q, base + ia) * inv, b = head_value(is_q, base + ib) * inv;
    if (mode == 1u || mode == 2u) {
      a *= gain(mode, is_q ? qw[ia] : kw[ia]);
      b *= gain(mode, is_q ? qw[ib] : kw[ib]);
    }
    const float c = cs[row + i], s = cs[row + half_dim + i];
    const float ra = a * c - b * s, rb = b * c + a * s;
    if (is_q) {
      q[base + ia] = ra;
      q[base + ib] = rb;
    } else {
      k_cache[p.dst + base + ia] = KV_SCALAR(ra);
      k_cache[p.dst + base + ib] = KV_SCALAR(rb);
    }
  }
  if (is_q) return;
  float vinv = 1.0;
  if (p.v_norm != 0u) {
    float ss = 0.0;
    for (uint i = lid; i < hd; i += WG_SIZE) ss += v[base + i] * v[base + i];
    vinv = inversesqrt(wg_sum(ss) / float(hd) + p.eps);
  }
  for (uint i = lid; i < hd; i += WG_SIZE) v_cache[p.dst + base + i] = KV_SCALAR(v[base + i] * vinv);
}
