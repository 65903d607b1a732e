#version 450
#include "common.glsl"
#include "weights.glsl"
#include "matvec_main.glsl"

float chunk_dot(uint row_byte, uint chunk, uint x_base) {
  const uint b = row_byte + chunk * 64u;
  float s = 0.0;
  for (uint i = 0; i < 32u; ++i) s += load_bf16(b + 2u * i) * x[x_base + i];
  return s;
}
