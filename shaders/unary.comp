#version 450
layout(local_size_x_id = 0) in;
#include "grid.glsl"

// Element-wise out = f(x), one invocation per element. mode 0: x * param (scale); 1: param * tanh(x / param)
// (logit soft-capping); 2: SiLU; 3: GELU-tanh. out may alias x.
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params { uint n; uint mode; float param; } p;

void main() {
  const uint i = flat_invocation();
  if (i >= p.n) return;
  const float v = x[i];
  float r;
  if (p.mode == 0u) {
    r = v * p.param;
  } else if (p.mode == 1u) {
    // tanh saturates to +-1 in float well before |y| = 15; the clamp keeps drivers' exp-based tanh finite.
    r = p.param * tanh(clamp(v / p.param, -15.0, 15.0));
  } else if (p.mode == 2u) {
    r = v / (1.0 + exp(-v));
  } else {
    const float u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
    r = v / (1.0 + exp(-2.0 * u));
  }
  outv[i] = r;
}
