#version 450
#include "common.glsl"
#include "weights.glsl"
#include "kquant.glsl"
#include "matvec_main.glsl"

// Super-block of 176 bytes: d, dmin, 12 scale bytes, qh[32], qs[128]. Like Q4_K with a fifth bit: bit s of qh[l].
float chunk_dot(uint row_byte, uint chunk, uint x_base) {
  const uint b = row_byte + (chunk / 8u) * 176u;
  const uint s = chunk % 8u;
  float sc, m;
  k_scale_min(b + 4u, s, sc, m);
  const uint qh = b + 16u;
  const uint qs = b + 48u + 32u * (s / 2u);
  const uint shift = (s & 1u) * 4u;
  float dot_q = 0.0, sum_x = 0.0;
  for (uint l = 0; l < 32u; ++l) {
    const float xv = x[x_base + l];
    const uint q = ((load_u8(qs + l) >> shift) & 15u) | (((load_u8(qh + l) >> s) & 1u) << 4);
    dot_q += float(q) * xv;
    sum_x += xv;
  }
  return load_f16(b) * sc * dot_q - load_f16(b + 2u) * m * sum_x;
}
