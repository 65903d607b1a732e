#version 450
#include "common.glsl"

// One workgroup per row of n: a residual add followed by the next RMSNorm, in one dispatch instead of two to seven
// (add_rmsnorm_row.glsl says what).
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer D { float d[]; };
layout(std430, binding = 2) readonly buffer DW { float dw[]; };
layout(std430, binding = 3) readonly buffer D2 { float d2[]; };
layout(std430, binding = 4) readonly buffer D2W { float d2w[]; };
layout(std430, binding = 5) readonly buffer D3 { float d3[]; };
layout(std430, binding = 6) readonly buffer W { float w[]; };
layout(std430, binding = 7) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint n;
  float eps;
  uint post_mode;
  uint mode;
  uint d2_mode;  // 0: no d2
  uint has_d3;
  float scale;
} p;

#define ARN_D(i) d[i]
#include "add_rmsnorm_row.glsl"

void main() { add_rmsnorm_row(gl_WorkGroupID.x); }
