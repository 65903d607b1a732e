#version 450
layout(local_size_x_id = 0) in;
#include "grid.glsl"

// Gated FFN activation, one invocation per element: out = act(gate) * up; act = SiLU (mode 0) or GELU-tanh (mode 1).
// up may be a strided slice: element i of gate pairs with up[up_offset + (i / row) * up_stride + i % row] (Gemma 3n's
// per-layer inputs, read in place); a plain product has row = up_stride = n.
layout(std430, binding = 0) readonly buffer Gate { float gate[]; };
layout(std430, binding = 1) readonly buffer Up { float up[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params { uint n; uint mode; uint row; uint up_stride; uint up_offset; } p;

void main() {
  const uint i = flat_invocation();
  if (i >= p.n) return;
  const float g = gate[i];
  float a;
  if (p.mode == 0u) {
    a = g / (1.0 + exp(-g));
  } else {
    // 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)): finite for any u and without the cancellation of 1 + tanh(u) < 0.
    const float u = 0.7978845608028654 * (g + 0.044715 * g * g * g);
    a = g / (1.0 + exp(-2.0 * u));
  }
  outv[i] = a * up[p.up_offset + (i / p.row) * p.up_stride + i % p.row];
}
