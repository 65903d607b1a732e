// Inputs and outputs of the 32-lane-slice decode mat-vecs (matvec_q4_k_sg_main.glsl, matvec_q6_k_sg_main.glsl),
// after the including file declared ROWS and X (x4). Three forms, chosen by a define of the .comp wrapper:
//  - plain: y[t * rows + r] = W[r] . x_t;
//  - RESID (matvec_*_resid): y += W x in place (one slice per row), and each workgroup writes the sum of squares of
//    its updated rows to ss_part[token * groups + group], so that the next kernel can RMS-normalize y itself;
//  - NORM_IN (matvec_*_norm): the input is RMSNorm(x) * norm weight, its mean square summed from the n_parts
//    partial sums ss_part[token * n_parts ..] that a RESID kernel left, formed as x is read.
#if defined(RESID)
layout(std430, binding = 2) buffer Y { float y[]; };
layout(std430, binding = 3) writeonly buffer SsPart { float ss_part[]; };
shared float slice_ss[ROWS];
#else
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
#endif
#if defined(NORM_IN)
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
  uint n_parts;    // partial sums of squares per token in ss_part
  float eps;
} p;
#define NORM_SS_BINDING 3
#define NORM_W_BINDING 4
#include "norm_input.glsl"
#else
#include "matvec_params.glsl"
vec4 x_in(uint i) { return x4[i]; }
void begin_input(uint token) {}
#endif

// The slice's row total (valid in lane 0) into y. Call from uniform control flow (RESID holds a barrier).
void store_row(float total, uint lane, uint slice, uint row, uint token) {
#if defined(RESID)
  float updated = 0.0;
  if (lane == 0u && row < p.rows) {
    updated = y[token * p.rows + row] + total;
    y[token * p.rows + row] = updated;
  }
  if (lane == 0u) slice_ss[slice] = updated * updated;
  barrier();
  if (gl_LocalInvocationID.x == 0u) {
    float ss = 0.0;
    for (uint i = 0; i < ROWS; ++i) ss += slice_ss[i];
    ss_part[token * gl_NumWorkGroups.x + gl_WorkGroupID.x] = ss;
  }
#else
  if (lane == 0u && row < p.rows) y[token * p.rows + row] = total;
#endif
}
