#pragma once
// Byte layouts of GGML's quantized blocks, identical to what GGUF files store (little-endian, no padding).
// Elements of a row are split into consecutive blocks; a row's bytes are its blocks back to back.
#include <cstdint>

namespace unicorn::quant {

constexpr int kQK4_0 = 32;   // elements per Q4_0 block
constexpr int kQK8_0 = 32;   // elements per Q8_0 block
constexpr int kQK_K = 256;   // elements per K-quant super-block
constexpr int kKScaleSize = 12;

// Q4_0: x[j] = d * (q[j] - 8), q in 0..15.
// qs[j] holds element j in its low nibble and element j+16 in its high nibble (j = 0..15).
struct BlockQ4_0 {
  uint16_t d;  // fp16 scale
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// Q8_0: x[j] = d * qs[j].
struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q4_K: 8 sub-blocks of 32; x = d*sc[s]*q - dmin*m[s], q in 0..15, sc/m 6-bit.
// scales[12] packs (sc, m) for sub-block s: s < 4: sc = scales[s] & 63, m = scales[s+4] & 63;
// s >= 4: sc = (scales[s+4] & 0xF) | ((scales[s-4] >> 6) << 4), m = (scales[s+4] >> 4) | ((scales[s] >> 6) << 4).
// qs: 4 chunks of 32 bytes, chunk c covers elements 64c..64c+63: low nibbles are sub-block 2c
// (elements 64c+l), high nibbles sub-block 2c+1 (elements 64c+32+l).
struct BlockQ4_K {
  uint16_t d;     // fp16 super-scale of the sub-block scales
  uint16_t dmin;  // fp16 super-scale of the sub-block mins
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// Q5_K: Q4_K plus a fifth bit: q = nibble + 16 * bit. Bit of element 64c+l (l < 32) is qh[l] bit 2c,
// bit of element 64c+32+l is qh[l] bit 2c+1.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// Q6_K: 16 sub-blocks of 16; x = d * scales[s] * (q - 32), q in 0..63.
// Two halves of 128 elements (h = 0, 1) use ql[64h..64h+63], qh[32h..32h+31], scales[8h..8h+7]. Within a half,
// for l in 0..31: element l      = ql[l] low nibble    | ((qh[l] >> 0) & 3) << 4
//                 element l + 32 = ql[l+32] low nibble | ((qh[l] >> 2) & 3) << 4
//                 element l + 64 = ql[l] high nibble   | ((qh[l] >> 4) & 3) << 4
//                 element l + 96 = ql[l+32] high nibble| ((qh[l] >> 6) & 3) << 4
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;  // fp16 super-scale
};
static_assert(sizeof(BlockQ6_K) == 210);

// Unpacks the 6-bit (scale, min) of sub-block j (0..7) of a Q4_K/Q5_K block.
inline void k_scale_min(int j, const uint8_t* scales, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = scales[j] & 63;
    m = scales[j + 4] & 63;
  } else {
    sc = uint8_t((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    m = uint8_t((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

}  // namespace unicorn::quant
