#version 450
#include "common.glsl"
#include "weights.glsl"
#include "matvec_main.glsl"

float chunk_dot(uint row_byte, uint chunk, uint x_base) {
  const uint word = (row_byte >> 2) + chunk * 32u;
  float s = 0.0;
  for (uint i = 0; i < 32u; ++i) s += uintBitsToFloat(w_words[word + i]) * x[x_base + i];
  return s;
}
