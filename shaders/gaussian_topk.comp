#version 450
#include "common.glsl"

// Gemma 3n's gaussian top-k, one workgroup per row of n: cutoff = mean + std * multiplier (population std), then
// x = max(x - cutoff, 0) in place. Two passes (mean, then squared deviations) as the CPU reference does.
layout(std430, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform Params { uint n; float multiplier; } p;

void main() {
  const uint base = gl_WorkGroupID.x * p.n;
  float s = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) s += x[base + i];
  const float mean = wg_sum(s) / float(p.n);
  float v = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    const float d = x[base + i] - mean;
    v += d * d;
  }
  const float cutoff = mean + sqrt(wg_sum(v) / float(p.n)) * p.multiplier;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) x[base + i] = max(x[base + i] - cutoff, 0.0);
}
