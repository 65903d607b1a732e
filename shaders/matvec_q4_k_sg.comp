#version 450
#include "common.glsl"
// Decode mat-vec for Q4_K rows (cols % 256 == 0, every super-block 16-byte aligned: w_offset % 16 == 0).
// A workgroup is ROWS slices of 32 invocations, one output row per slice; lane = 8 * k + part reads, for
// super-blocks k, k + 4, ..., the block's 16-byte header (d, dmin, 12 scale bytes) and the uvec4 of nibble bytes
// qs[16 * part .. +15]: with pair = part / 2 and h = part % 2, their low nibbles are elements 64 * pair + 16 * h + i
// (sub-block 2 * pair), their high nibbles the same offsets + 32 (sub-block 2 * pair + 1). Two super-blocks per
// step keep two 16-byte loads per lane in flight. x is read directly as vec4 (it is small and cache-resident). The
// 32 lane sums of a row are added by slice_sum (slice.glsl), so any subgroup size works.
// Specialization constants: 0 workgroup size (= 32 * ROWS), 1 ROWS.
layout(constant_id = 1) const uint ROWS = 4;
layout(std430, binding = 0) readonly buffer Weights { uvec4 w4[]; };
layout(std430, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row (144 per super-block)
  uint w_offset;   // byte offset of the matrix in the weight buffer (multiple of 16)
} p;

#include "q4_k_sg_dot.glsl"

#include "slice.glsl"

void main() {
  const uint lane = slice_lane(), slice = slice_index();
  const uint row = group_x() * ROWS + slice;
  const uint token = gl_WorkGroupID.y;
  float acc = 0.0;
  if (row < p.rows) {
    const uint part = lane % 8u, pair = part / 2u;
    const uint base = (p.w_offset + row * p.row_bytes) / 16u;  // in uvec4 units; a super-block is 9
    const uint xbase = (token * p.cols) / 4u + 16u * pair + 4u * (part % 2u);
    const uint blocks = p.cols / 256u;
    uint b = lane / 8u;
    for (; b + 4u < blocks; b += 8u) {
      const uint o0 = base + 9u * b, o1 = o0 + 36u;
      const uvec4 hd0 = w4[o0], q0 = w4[o0 + 1u + part];
      const uvec4 hd1 = w4[o1], q1 = w4[o1 + 1u + part];
      acc += block_dot(hd0, q0, pair, xbase + 64u * b);
      acc += block_dot(hd1, q1, pair, xbase + 64u * (b + 4u));
    }
    if (b < blocks) {
      const uint o0 = base + 9u * b;
      acc += block_dot(w4[o0], w4[o0 + 1u + part], pair, xbase + 64u * b);
    }
  }
  const float total = slice_sum(acc);
  if (lane == 0u && row < p.rows) y[token * p.rows + row] = total;
}
