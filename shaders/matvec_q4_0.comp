#version 450
#include "common.glsl"
#include "weights.glsl"
#include "matvec_main.glsl"

// Block of 18 bytes: fp16 d, 16 bytes; byte j holds element j (low nibble) and j+16 (high); x = d * (q - 8).
float chunk_dot(uint row_byte, uint chunk, uint x_base) {
  const uint b = row_byte + chunk * 18u;
  float s = 0.0;
  for (uint j = 0; j < 16u; ++j) {
    const uint q = load_u8(b + 2u + j);
    s += float(int(q & 15u) - 8) * x[x_base + j] + float(int(q >> 4) - 8) * x[x_base + j + 16u];
  }
  return load_f16(b) * s;
}
