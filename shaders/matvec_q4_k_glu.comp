#version 450
#include "common.glsl"
// Decode gate/up projection with the gated activation fused in: y[t * rows + r] = act(G[r] . x_t) * (U[r] . x_t)
// for Q4_K gate and up matrices of the same shape (cols % 256 == 0, both at byte 0 of their buffers). Each 32-lane
// slice computes one output row with the lane layout of matvec_q4_k_sg.comp, for the gate and the up row at once:
// the lane issues the loads of both rows (four 16-byte weight loads per row per step) before using them, so a warp
// keeps twice the bytes in flight (8192x2048 on the H200: 20.8 us, against 29.6 with separate gate and up slices),
// and lane 0 applies the GLU without shared memory. Saves the separate GLU dispatch and its barrier.
// Specialization constants: 0 workgroup size (= 32 * ROWS), 1 ROWS, 2 ACT (0 SiLU, 1 GELU-tanh).
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const uint ACT = 0;
layout(std430, binding = 0) readonly buffer Gate { uvec4 g4[]; };
layout(std430, binding = 1) readonly buffer Up { uvec4 u4[]; };
layout(std430, binding = 2) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;
  uint cols;
  uint row_bytes;
  uint w_offset;  // unused: both matrices start at byte 0 of their buffers
} p;

#include "q4_k_sg_dot.glsl"
#include "slice.glsl"

void main() {
  const uint lane = slice_lane(), slice = slice_index();
  const uint row = group_x() * ROWS + slice;
  const uint token = gl_WorkGroupID.y;
  float acc_g = 0.0, acc_u = 0.0;
  if (row < p.rows) {
    const uint part = lane % 8u, pair = part / 2u;
    const uint base = (row * p.row_bytes) / 16u;
    const uint xbase = (token * p.cols) / 4u + 16u * pair + 4u * (part % 2u);
    const uint blocks = p.cols / 256u;
    uint b = lane / 8u;
    for (; b + 4u < blocks; b += 8u) {
      const uint o0 = base + 9u * b, o1 = o0 + 36u;
      const uvec4 ghd0 = g4[o0], gq0 = g4[o0 + 1u + part], ghd1 = g4[o1], gq1 = g4[o1 + 1u + part];
      const uvec4 uhd0 = u4[o0], uq0 = u4[o0 + 1u + part], uhd1 = u4[o1], uq1 = u4[o1 + 1u + part];
      acc_g += block_dot(ghd0, gq0, pair, xbase + 64u * b) + block_dot(ghd1, gq1, pair, xbase + 64u * (b + 4u));
      acc_u += block_dot(uhd0, uq0, pair, xbase + 64u * b) + block_dot(uhd1, uq1, pair, xbase + 64u * (b + 4u));
    }
    if (b < blocks) {
      const uint o0 = base + 9u * b;
      const uvec4 ghd = g4[o0], gq = g4[o0 + 1u + part], uhd = u4[o0], uq = u4[o0 + 1u + part];
      acc_g += block_dot(ghd, gq, pair, xbase + 64u * b);
      acc_u += block_dot(uhd, uq, pair, xbase + 64u * b);
    }
  }
  const float g = slice_sum(acc_g);
  barrier();  // slice_sum's shared-memory fallback reuses wg_partial
  const float u = slice_sum(acc_u);
  if (lane == 0u && row < p.rows) {
    float a;
    if (ACT == 0u) {
      a = g / (1.0 + exp(-g));
    } else {
      const float v = 0.7978845608028654 * (g + 0.044715 * g * g * g);
      a = g / (1.0 + exp(-2.0 * v));
    }
    y[token * p.rows + row] = a * u;
  }
}
