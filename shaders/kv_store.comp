#version 450
#include "kv_type.glsl"
layout(local_size_x_id = 0) in;
#include "grid.glsl"

// Appends n_tokens tokens' keys and values to the KV cache in one dispatch: the keys rotated by RoPE (as rope.comp:
// token t uses the table row at cs_offset + t * head_dim), the values as they are, both written at float offset
// dst (position * n_kv_heads * head_dim) of the caches. One invocation per rotated pair; it also moves the two
// values at the same places, so the pairs cover every element once. Replaces rope + two buffer copies (and their
// four barriers) per layer.
layout(std430, binding = 0) readonly buffer K { float k[]; };
layout(std430, binding = 1) readonly buffer V { float v[]; };
layout(std430, binding = 2) readonly buffer CosSin { float cs[]; };
layout(std430, binding = 3) writeonly buffer KC { KV_SCALAR k_cache[]; };
layout(std430, binding = 4) writeonly buffer VC { KV_SCALAR v_cache[]; };
layout(push_constant) uniform Params {
  uint n_heads;
  uint head_dim;
  uint interleaved;
  uint cs_offset;
  uint n_tokens;
  uint dst;
} p;

void main() {
  const uint half_dim = p.head_dim / 2u;
  const uint idx = flat_invocation();
  if (idx >= p.n_tokens * p.n_heads * half_dim) return;
  const uint head = idx / half_dim, i = idx % half_dim;
  const uint base = head * p.head_dim;
  const uint ia = p.interleaved != 0u ? base + 2u * i : base + i;
  const uint ib = p.interleaved != 0u ? ia + 1u : ia + half_dim;
  const uint row = p.cs_offset + (head / p.n_heads) * p.head_dim;
  const float c = cs[row + i], s = cs[row + half_dim + i];
  const float a = k[ia], b = k[ib];
  k_cache[p.dst + ia] = KV_SCALAR(a * c - b * s);
  k_cache[p.dst + ib] = KV_SCALAR(b * c + a * s);
  v_cache[p.dst + ia] = KV_SCALAR(v[ia]);
  v_cache[p.dst + ib] = KV_SCALAR(v[ib]);
}
