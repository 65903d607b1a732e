#version 450
#include "common.glsl"
// Decode mat-vec for F32 rows with cols % 4 == 0 at a 16-byte aligned offset: ROWS slices of 32 lanes per
// workgroup, one output row per slice, each lane reading vec4s c = lane, lane + 32, ... of its row (independent
// loads, all in flight at once); the 32 lane sums are added by slice_sum (slice.glsl). For Gemma 3n's small F32 matrices
// (AltUp router, LAuReL and per-layer projections), where matvec_main.glsl's 32-element chunks per invocation leave
// a 4-row matrix to one workgroup walking it serially.
// Specialization constants: 0 workgroup size (= 32 * ROWS), 1 ROWS.
layout(constant_id = 1) const uint ROWS = 4;
layout(std430, binding = 0) readonly buffer Weights { vec4 w4[]; };
layout(std430, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;
  uint cols;
  uint row_bytes;
  uint w_offset;  // multiple of 16
} p;

#include "slice.glsl"

void main() {
  const uint lane = slice_lane(), slice = slice_index();
  const uint row = group_x() * ROWS + slice;
  const uint token = gl_WorkGroupID.y;
  const uint cols4 = p.cols / 4u;
  vec4 acc = vec4(0.0);
  if (row < p.rows) {
    const uint base = p.w_offset / 16u + row * cols4, xbase = token * cols4;
    for (uint c = lane; c < cols4; c += 32u) acc += w4[base + c] * x4[xbase + c];
  }
  const float total = slice_sum(acc.x + acc.y + acc.z + acc.w);
  if (lane == 0u && row < p.rows) y[token * p.rows + row] = total;
}
