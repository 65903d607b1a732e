#version 450
layout(local_size_x_id = 0) in;
#include "grid.glsl"

// Gemma 3n AltUp correct: innovation = act - pred_active, then stream_s = innovation * (1 + sum_m
// correct[s * N + m] * mod[t * N + m]) + pred_s for every stream s. Layout as altup_predict.comp; act is
// [n_tokens][hidden].
layout(std430, binding = 0) readonly buffer Pred { float pred[]; };
layout(std430, binding = 1) readonly buffer Act { float act[]; };
layout(std430, binding = 2) readonly buffer Mod { float mod_[]; };
layout(std430, binding = 3) readonly buffer Coef { float correct[]; };
layout(std430, binding = 4) writeonly buffer Streams { float streams[]; };
layout(push_constant) uniform Params { uint n_streams; uint hidden; uint n_tokens; uint stride; uint active_stream; } p;

void main() {
  const uint idx = flat_invocation();
  if (idx >= p.n_tokens * p.hidden) return;
  const uint t = idx / p.hidden;
  const uint N = p.n_streams;
  const float innov = act[idx] - pred[p.active_stream * p.stride + idx];
  for (uint s = 0; s < N; ++s) {
    float c = 0.0;
    for (uint m = 0; m < N; ++m) c += correct[s * N + m] * mod_[t * N + m];
    streams[s * p.stride + idx] = innov * (c + 1.0) + pred[s * p.stride + idx];
  }
}
