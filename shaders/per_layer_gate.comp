#version 450
layout(local_size_x_id = 0) in;

// Gemma 3n per-layer gate, one invocation per element of n_tokens x P: out[t * P + i] = gelu_tanh(g[t * P + i]) *
// pli[t * pli_stride + pli_offset + i] (this layer's segment of the per-layer inputs). out may alias g.
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer Pli { float pli[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params { uint seg; uint n_tokens; uint pli_stride; uint pli_offset; } p;

void main() {
  const uint idx = gl_GlobalInvocationID.x;
  if (idx >= p.seg * p.n_tokens) return;
  const uint t = idx / p.seg, i = idx % p.seg;
  const float v = g[idx];
  const float u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
  outv[idx] = v / (1.0 + exp(-2.0 * u)) * pli[t * p.pli_stride + p.pli_offset + i];
}
