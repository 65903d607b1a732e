#version 450
#include "common.glsl"
#include "weights.glsl"
#include "matvec_main.glsl"

// Block of 34 bytes: fp16 d, 32 int8 q; x = d * q.
float chunk_dot(uint row_byte, uint chunk, uint x_base) {
  const uint b = row_byte + chunk * 34u;
  float s = 0.0;
  for (uint i = 0; i < 32u; ++i) s += float(load_i8(b + 2u + i)) * x[x_base + i];
  return load_f16(b) * s;
}
