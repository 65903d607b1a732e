#version 450
#include "common.glsl"
#include "weights.glsl"
#include "kquant.glsl"
#include "matvec_main.glsl"

// Super-block of 144 bytes: d, dmin (fp16), 12 scale bytes, 128 nibble bytes. Chunk = sub-block s of 32 elements:
// nibbles from qs[32 * (s / 2) + l], low for even s, high for odd; x = d * sc * q - dmin * m.
float chunk_dot(uint row_byte, uint chunk, uint x_base) {
  const uint b = row_byte + (chunk / 8u) * 144u;
  const uint s = chunk % 8u;
  float sc, m;
  k_scale_min(b + 4u, s, sc, m);
  const uint qs = b + 16u + 32u * (s / 2u);
  const uint shift = (s & 1u) * 4u;
  float dot_q = 0.0, sum_x = 0.0;
  for (uint l = 0; l < 32u; ++l) {
    const float xv = x[x_base + l];
    dot_q += float((load_u8(qs + l) >> shift) & 15u) * xv;
    sum_x += xv;
  }
  return load_f16(b) * sc * dot_q - load_f16(b + 2u) * m * sum_x;
}
