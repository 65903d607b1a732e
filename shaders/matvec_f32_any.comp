#version 450
#include "common.glsl"

// y[t * rows + r] = sum_c W[r * cols + c] * x[t * cols + c] for F32 weights of any width (the block-wise matvec
// shaders need cols % 32 == 0; small Gemma 3n matrices such as LAuReL's rank-8 factor do not have it). One
// workgroup per (row, token).
layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params { uint rows; uint cols; } p;

void main() {
  const uint r = group_x(), t = gl_WorkGroupID.y;
  if (r >= p.rows) return;  // the whole workgroup: a grid spread over z has spare groups
  float s = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += WG_SIZE) s += w[r * p.cols + c] * x[t * p.cols + c];
  const float total = wg_sum(s);
  if (gl_LocalInvocationID.x == 0u) y[t * p.rows + r] = total;
}
