#version 450
#include "common.glsl"
#include "weights.glsl"
// Q6_K (210-byte super-blocks, 2-byte aligned: ql[128], qh[64], int8 scales[16], fp16 d): lane = 16 * half + j
// takes elements 128 * half + 32 * q + 2j + k (q < 4, k < 2): low bits from the halves ql[64 * half + 2j] and
// ql[64 * half + 32 + 2j] (low nibble for q < 2, high for q >= 2), high bits from the half qh[32 * half + 2j].
const uint BLOCK_BYTES = 210u;
float superblock_dot(uint b, uint lane, uint x_base);
#include "matvec_rowsg_main.glsl"

float superblock_dot(uint b, uint lane, uint x_base) {
  const uint hf = lane / 16u, l0 = (lane % 16u) * 2u;
  const uint ql_a = load_u16(b + 64u * hf + l0), ql_b = load_u16(b + 64u * hf + 32u + l0);
  const uint qh = load_u16(b + 128u + 32u * hf + l0);
  const float d = load_f16(b + 208u);
  float total = 0.0;
  for (uint q = 0; q < 4u; ++q) {
    const uint lo = (q & 1u) == 0u ? ql_a : ql_b;
    const uint lo_shift = (q / 2u) * 4u;
    const float scale = float(load_i8(b + 192u + 8u * hf + 2u * q + l0 / 16u));
    const uint xi = x_base + 128u * hf + 32u * q + l0;
    float s = 0.0;
    for (uint k = 0; k < 2u; ++k) {
      const int q6 = int(((lo >> (8u * k + lo_shift)) & 15u) | (((qh >> (8u * k + 2u * q)) & 3u) << 4)) - 32;
      s += float(q6) * x[xi + k];
    }
    total += scale * s;
  }
  return d * total;
}
