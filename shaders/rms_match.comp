#version 450
#include "common.glsl"

// One workgroup per row of n: x = x * rms(ref) / sqrt(max(mean(x^2), 1e-5)) in place (Gemma 3n rescales the AltUp
// projections to the magnitude of the stream they came from).
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Ref { float ref[]; };
layout(push_constant) uniform Params { uint n; } p;

void main() {
  const uint base = gl_WorkGroupID.x * p.n;
  float sx = 0.0, sr = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    sx += x[base + i] * x[base + i];
    sr += ref[base + i] * ref[base + i];
  }
  const float mx = wg_sum(sx) / float(p.n);
  const float mr = wg_sum(sr) / float(p.n);
  const float f = sqrt(mr) / sqrt(max(mx, 1e-5));
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) x[base + i] *= f;
}
