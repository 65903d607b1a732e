#include "kquant.glsl"
// Q5_K super-block of 176 bytes: d, dmin, 12 scale bytes, qh[32], qs[128]. Q4_K plus a fifth bit: bit s of qh[l].
// Word-aligned as Q4_K (176 = 4 * 44): qh and qs are read as words.
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + (chunk / 8u) * 176u;
  const uint s = chunk % 8u;
  float sc, m;
  k_scale_min(b + 4u, s, sc, m);
  const float d = load_f16(b) * sc, dm = load_f16(b + 2u) * m;
  const uint qh = (b + 16u) >> 2;
  const uint qs = (b + 48u + 32u * (s / 2u)) >> 2;
  const uint shift = (s & 1u) * 4u;
  for (uint i = 0; i < 8u; ++i) {
    const uint lo = w_words[qs + i] >> shift, hi = w_words[qh + i] >> s;
    for (uint k = 0; k < 4u; ++k) {
      const uint q = ((lo >> (8u * k)) & 15u) | (((hi >> (8u * k)) & 1u) << 4);
      v[4u * i + k] = d * float(q) - dm;
    }
  }
}
