#version 450
#include "common.glsl"

// Gemma 3n AltUp predict, one workgroup per token t. Streams s < N live at streams[s * stride + t * n ...] (n floats
// each). mod = router modalities of stream `active` (altup.glsl); coef[k] = sum_m predict_w[k * N + m] * mod[m]
// for k < N * N; pred[j] = stream[j] + sum_i coef[j * N + i] * stream[i], written in the same layout. pred may alias
// streams (each invocation reads all N streams of its elements before writing them).
layout(std430, binding = 0) readonly buffer Streams { float streams[]; };
layout(std430, binding = 1) readonly buffer NormW { float norm_w[]; };
layout(std430, binding = 2) readonly buffer Router { float router_w[]; };
layout(std430, binding = 3) readonly buffer PredictW { float predict_w[]; };
layout(std430, binding = 4) writeonly buffer Pred { float pred[]; };
layout(push_constant) uniform Params { uint n; uint nn; uint stride; uint active_stream; float eps; } p;

float load_x(uint i) { return streams[i]; }
#include "altup.glsl"

shared float coef_s[MAX_N * MAX_N];

void main() {
  const uint t = gl_WorkGroupID.x;
  altup_modalities(p.active_stream * p.stride + t * p.n, p.n, p.nn, p.eps);
  for (uint k = gl_LocalInvocationID.x; k < p.nn * p.nn; k += WG_SIZE) {
    float c = 0.0;
    for (uint m = 0; m < p.nn; ++m) c += predict_w[k * p.nn + m] * mod_s[m];
    coef_s[k] = c;
  }
  barrier();
  float s[MAX_N];
  for (uint c = gl_LocalInvocationID.x; c < p.n; c += WG_SIZE) {
    for (uint i = 0; i < p.nn; ++i) s[i] = streams[i * p.stride + t * p.n + c];
    for (uint j = 0; j < p.nn; ++j) {
      float acc = 0.0;
      for (uint i = 0; i < p.nn; ++i) acc += coef_s[j * p.nn + i] * s[i];
      pred[j * p.stride + t * p.n + c] = s[j] + acc;
    }
  }
}
