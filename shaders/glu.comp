#version 450
layout(local_size_x_id = 0) in;

// Gated FFN activation, one invocation per element: out = act(gate) * up; act = SiLU (mode 0) or GELU-tanh (mode 1).
layout(std430, binding = 0) readonly buffer Gate { float gate[]; };
layout(std430, binding = 1) readonly buffer Up { float up[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params { uint n; uint mode; } p;

void main() {
  const uint i = gl_GlobalInvocationID.x;
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
  outv[i] = a * up[i];
}
