#version 450
layout(local_size_x_id = 0) in;
#include "grid.glsl"

// Gemma 3n AltUp predict for n_tokens tokens: pred_j = stream_j + sum_i coef[j * N + i] * stream_i, where
// coef[k] = sum_m predict[k * N + m] * mod[t * N + m]. Streams are [N][stride] floats (token t's row of stream s at
// s * stride + t * hidden); one invocation per (token, element) computes all N outputs.
layout(std430, binding = 0) readonly buffer Streams { float streams[]; };
layout(std430, binding = 1) readonly buffer Mod { float mod_[]; };
layout(std430, binding = 2) readonly buffer Coef { float predict[]; };
layout(std430, binding = 3) writeonly buffer Pred { float pred[]; };
layout(push_constant) uniform Params { uint n_streams; uint hidden; uint n_tokens; uint stride; } p;

void main() {
  const uint idx = flat_invocation();
  if (idx >= p.n_tokens * p.hidden) return;
  const uint t = idx / p.hidden;
  const uint N = p.n_streams;
  for (uint j = 0; j < N; ++j) {
    float acc = 0.0;
    for (uint i = 0; i < N; ++i) {
      float c = 0.0;
      for (uint m = 0; m < N; ++m) c += predict[(j * N + i) * N + m] * mod_[t * N + m];
      acc += c * streams[i * p.stride + idx];
    }
    pred[j * p.stride + idx] = acc + streams[j * p.stride + idx];
  }
}
