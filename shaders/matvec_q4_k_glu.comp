#version 450
#include "common.glsl"
// Decode gate/up projection with the gated activation fused in: y[t * rows + r] = act(G[r] . x_t) * (U[r] . x_t)
// for Q4_K gate and up matrices of the same shape (cols % 256 == 0, both 16-byte aligned). A workgroup is 2 * ROWS
// slices of 32 lanes, as in matvec_q4_k_sg.comp: slices [0, ROWS) take rows of G, slices [ROWS, 2 ROWS) the same
// rows of U. Saves the separate GLU dispatch and its barrier. act: SiLU (ACT 0) or GELU-tanh (ACT 1), as glu.comp.
// Specialization constants: 0 workgroup size (= 64 * ROWS), 1 ROWS, 2 ACT.
layout(constant_id = 1) const uint ROWS = 2;
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

// The 32-lane slice's partial dot of one row of W (g4 or u4) with x_t.
#define ROW_DOT(W, acc)                                                     \
  {                                                                         \
    uint b = lane / 8u;                                                     \
    for (; b + 4u < blocks; b += 8u) {                                      \
      const uint o0 = base + 9u * b, o1 = o0 + 36u;                         \
      const uvec4 hd0 = W[o0], q0 = W[o0 + 1u + part];                      \
      const uvec4 hd1 = W[o1], q1 = W[o1 + 1u + part];                      \
      acc += block_dot(hd0, q0, pair, xbase + 64u * b);                     \
      acc += block_dot(hd1, q1, pair, xbase + 64u * (b + 4u));              \
    }                                                                       \
    if (b < blocks) {                                                       \
      const uint o0 = base + 9u * b;                                        \
      acc += block_dot(W[o0], W[o0 + 1u + part], pair, xbase + 64u * b);    \
    }                                                                       \
  }

#include "slice.glsl"

shared float slice_total[2u * ROWS];

void main() {
  const uint lane = slice_lane(), slice = slice_index();
  const bool up = slice >= ROWS;
  const uint row = gl_WorkGroupID.x * ROWS + slice % ROWS;
  const uint token = gl_WorkGroupID.y;
  float acc = 0.0;
  if (row < p.rows) {
    const uint part = lane % 8u, pair = part / 2u;
    const uint base = (row * p.row_bytes) / 16u;
    const uint xbase = (token * p.cols) / 4u + 16u * pair + 4u * (part % 2u);
    const uint blocks = p.cols / 256u;
    if (up) ROW_DOT(u4, acc) else ROW_DOT(g4, acc)
  }
  const float total = slice_sum(acc);
  if (lane == 0u) slice_total[slice] = total;
  barrier();
  if (lane == 0u && !up && row < p.rows) {
    const float g = slice_total[slice], u = slice_total[slice + ROWS];
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
