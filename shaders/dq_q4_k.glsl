#include "kquant.glsl"
// Q4_K super-block of 144 bytes: d, dmin (fp16), 12 scale bytes, 128 nibble bytes. Chunk = sub-block s of 32:
// nibbles from qs[32 * (s / 2) + l], low for even s, high for odd; x = d * sc * q - dmin * m. Blocks are
// word-aligned (w_offset % 4 == 0, 144 = 4 * 36): the 32 nibble bytes are read as 8 words.
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + (chunk / 8u) * 144u;
  const uint s = chunk % 8u;
  float sc, m;
  k_scale_min(b + 4u, s, sc, m);
  const float d = load_f16(b) * sc, dm = load_f16(b + 2u) * m;
  const uint qs = (b + 16u + 32u * (s / 2u)) >> 2;
  const uint shift = (s & 1u) * 4u;
  for (uint i = 0; i < 8u; ++i) {
    const uint w = w_words[qs + i] >> shift;
    for (uint k = 0; k < 4u; ++k) v[4u * i + k] = d * float((w >> (8u * k)) & 15u) - dm;
  }
}
