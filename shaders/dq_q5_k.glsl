#include "kquant.glsl"
// Q5_K super-block of 176 bytes: d, dmin, 12 scale bytes, qh[32], qs[128]. Q4_K plus a fifth bit: bit s of qh[l].
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + (chunk / 8u) * 176u;
  const uint s = chunk % 8u;
  float sc, m;
  k_scale_min(b + 4u, s, sc, m);
  const float d = load_f16(b) * sc, dm = load_f16(b + 2u) * m;
  const uint qh = b + 16u;
  const uint qs = b + 48u + 32u * (s / 2u);
  const uint shift = (s & 1u) * 4u;
  for (uint l = 0; l < 32u; ++l) {
    const uint q = ((load_u8(qs + l) >> shift) & 15u) | (((load_u8(qh + l) >> s) & 1u) << 4);
    v[l] = d * float(q) - dm;
  }
}
