#version 450
#include "common.glsl"
#include "weights.glsl"
#include "kquant.glsl"
// Q4_K (144-byte super-blocks, word-aligned): lane = 8 * pair + j takes the word of nibble bytes
// qs[32 * pair + 4j .. +3]: its low nibbles are elements 64 * pair + 4j + k of sub-block 2 * pair, its high
// nibbles the same offsets of sub-block 2 * pair + 1.
const uint BLOCK_BYTES = 144u;
float superblock_dot(uint b, uint lane, uint x_base);
#include "matvec_rowsg_main.glsl"

float superblock_dot(uint b, uint lane, uint x_base) {
  const uint pair = lane / 8u, l0 = (lane % 8u) * 4u;
  float sc0, m0, sc1, m1;
  k_scale_min(b + 4u, 2u * pair, sc0, m0);
  k_scale_min(b + 4u, 2u * pair + 1u, sc1, m1);
  const vec2 dm = unpackHalf2x16(w_words[b >> 2]);  // d, dmin
  const uint q = w_words[(b + 16u + 32u * pair + l0) >> 2];
  const uint x0 = x_base + 64u * pair + l0, x1 = x0 + 32u;
  float dot0 = 0.0, sum0 = 0.0, dot1 = 0.0, sum1 = 0.0;
  for (uint k = 0; k < 4u; ++k) {
    const float xa = x[x0 + k], xb = x[x1 + k];
    dot0 += float((q >> (8u * k)) & 15u) * xa;
    dot1 += float((q >> (8u * k + 4u)) & 15u) * xb;
    sum0 += xa;
    sum1 += xb;
  }
  return dm.x * (sc0 * dot0 + sc1 * dot1) - dm.y * (m0 * sum0 + m1 * sum1);
}
