#version 450
layout(local_size_x_id = 0) in;
#include "grid.glsl"

// Rotates n_tokens * n_heads heads of head_dim in place ([token][head][head_dim]), one invocation per rotated pair.
// cs holds one table row per position, head_dim floats each: cos[0..half) then sin[0..half); token t uses the row
// at cs_offset + t * head_dim (consecutive positions). NEOX/HF pairs (i, i + half); interleaved (GGUF Llama) pairs
// (2i, 2i + 1).
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer CosSin { float cs[]; };
layout(push_constant) uniform Params { uint n_heads; uint head_dim; uint interleaved; uint cs_offset; uint n_tokens; } p;

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
  const float a = x[ia], b = x[ib];
  x[ia] = a * c - b * s;
  x[ib] = b * c + a * s;
}
