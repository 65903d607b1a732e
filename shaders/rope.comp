#version 450
layout(local_size_x_id = 0) in;

// Rotates n_heads heads of head_dim in place, one invocation per rotated pair. cs holds the position's table:
// cos[0..half) then sin[0..half). NEOX/HF pairs (i, i + half); interleaved (GGUF Llama) pairs (2i, 2i + 1).
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer CosSin { float cs[]; };
layout(push_constant) uniform Params { uint n_heads; uint head_dim; uint interleaved; uint cs_offset; } p;

void main() {
  const uint half_dim = p.head_dim / 2u;
  const uint idx = gl_GlobalInvocationID.x;
  if (idx >= p.n_heads * half_dim) return;
  const uint head = idx / half_dim, i = idx % half_dim;
  const uint base = head * p.head_dim;
  const uint ia = p.interleaved != 0u ? base + 2u * i : base + i;
  const uint ib = p.interleaved != 0u ? ia + 1u : ia + half_dim;
  const float c = cs[p.cs_offset + i], s = cs[p.cs_offset + half_dim + i];
  const float a = x[ia], b = x[ib];
  x[ia] = a * c - b * s;
  x[ib] = b * c + a * s;
}
