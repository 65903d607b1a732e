#version 450
layout(local_size_x_id = 0) in;
#include "grid.glsl"

// streams[s * stride + i] += x[i] for streams s in [first, n_streams) and i < n (Gemma 3n adds the per-layer input
// projection to every stream but the active one's source).
layout(std430, binding = 0) buffer Streams { float streams[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform Params { uint n_streams; uint first; uint n; uint stride; } p;

void main() {
  const uint i = flat_invocation();
  if (i >= p.n) return;
  for (uint s = p.first; s < p.n_streams; ++s) streams[s * p.stride + i] += x[i];
}
