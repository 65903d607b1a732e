#version 450
// Q8_0 mat-vec on integer dot products: y[t, r] = sum over blocks of d_w * d_x * sdot(w int8, x int8), with x
// quantized by quantize_q8.comp (9 words per 32 values). One 32-lane slice per row (slice.glsl), ROWS rows per
// workgroup; the lanes take the row's blocks in turn. Q8_0 blocks are 34 bytes (fp16 d, 32 int8), so their quants
// start at any half-word: odd ones are assembled from two words.
// Specialization constants: 0 workgroup size (32 * ROWS), 1 ROWS.
#include "common.glsl"
#include "slice.glsl"
#include "weights.glsl"
#include "int_dot.glsl"
layout(constant_id = 1) const uint ROWS = 4;
layout(std430, binding = 1) readonly buffer Q { uint xq[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 32)
  uint row_bytes;  // stored bytes per row (34 * cols / 32)
  uint w_offset;   // byte offset of the matrix in the weight buffer (even)
} p;

void main() {
  const uint lane = slice_lane();
  const uint row = gl_WorkGroupID.x * ROWS + slice_index();
  const uint token = gl_WorkGroupID.y;
  const uint n_blocks = row < p.rows ? p.cols / 32u : 0u;  // slices past the last row add nothing
  const uint x0 = token * n_blocks * 9u;
  float acc = 0.0;
  for (uint blk = lane; blk < n_blocks; blk += 32u) {
    const uint b = p.w_offset + row * p.row_bytes + blk * 34u;
    const float dw = load_f16(b);
    const float dx = uintBitsToFloat(xq[x0 + blk * 9u]);
    const uint w0 = (b + 2u) >> 2, shift = ((b + 2u) & 2u) * 8u;
    int isum = 0;
    for (uint j = 0; j < 8u; ++j) {
      const uint lo = w_words[w0 + j];
      const uint wq = shift == 0u ? lo : (lo >> 16) | (w_words[w0 + j + 1u] << 16);
      isum += sdot4(wq, xq[x0 + blk * 9u + 1u + j]);
    }
    acc += dw * dx * float(isum);
  }
  const float total = slice_sum(acc);  // uniform control flow: it may hold a barrier
  if (lane == 0u && row < p.rows) y[token * p.rows + row] = total;
}
