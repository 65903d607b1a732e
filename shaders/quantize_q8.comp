#version 450
// Activations to int8 blocks for the integer-dot mat-vecs (matvec_q8_0_dot.comp): per 32 consecutive floats of x,
// 9 words: the scale d = max |x| / 127 (as float bits), then the 32 values round(x / d) as packed int8, low byte
// first. One invocation per block; n_blocks = n_tokens * cols / 32.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Q { uint q[]; };
layout(push_constant) uniform Params {
  uint n_blocks;
} p;

void main() {
  const uint blk = gl_GlobalInvocationID.x;
  if (blk >= p.n_blocks) return;
  float v[32];
  float amax = 0.0;
  for (uint i = 0; i < 32u; ++i) {
    v[i] = x[blk * 32u + i];
    amax = max(amax, abs(v[i]));
  }
  const float d = amax / 127.0;
  const float inv = d > 0.0 ? 1.0 / d : 0.0;
  q[blk * 9u] = floatBitsToUint(d);
  for (uint j = 0; j < 8u; ++j) {
    uint word = 0u;
    for (uint k = 0; k < 4u; ++k) word |= (uint(int(round(v[4u * j + k] * inv))) & 0xffu) << (8u * k);
    q[blk * 9u + 1u + j] = word;
  }
}
