#version 450
// Q8_0 mat-vec on integer dot products: y[t, r] = sum over blocks of d_w * d_x * sdot(w int8, x int8). Each
// workgroup first rounds its token's x to int8 per 32 values into shared memory (scale max |x| / 127; 9 words per
// block: the scale's bits, then 32 packed int8, low byte first; one vec4 per invocation and round), so the op is one
// dispatch with nothing shared between workgroups (safe inside the recorder's concurrent groups; a first form with a
// separate quantizing pass into one scratch buffer raced there). Then one 32-lane slice per row (slice.glsl),
// ROWS rows per workgroup, the lanes taking the row's blocks in turn. Q8_0 blocks are 34 bytes (fp16 d, 32 int8),
// so their quants start at any half-word: odd ones are assembled from two words.
// Specialization constants: 0 workgroup size (32 * ROWS), 1 ROWS, 2 X_BLOCKS (= cols / 32: the shared x's size).
#include "common.glsl"
#include "slice.glsl"
#include "weights.glsl"
#include "int_dot.glsl"
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const uint X_BLOCKS = 64;
layout(std430, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (= 32 * X_BLOCKS)
  uint row_bytes;  // stored bytes per row (34 * cols / 32)
  uint w_offset;   // byte offset of the matrix in the weight buffer (even)
} p;

shared uint xq[X_BLOCKS * 9u];

shared float amax_part[WG_SIZE];

// x's row `token` into xq: invocation i takes vec4 i (and i + WG_SIZE, ...), so 8 consecutive invocations hold a
// block; its max |x| goes through amax_part. Uniform control flow (barriers).
void quantize_x(uint token) {
  const uint n_vec4 = X_BLOCKS * 8u, tid = gl_LocalInvocationID.x;
  for (uint v0 = 0; v0 < n_vec4; v0 += WG_SIZE) {
    const uint v = v0 + tid;
    const vec4 xv = v < n_vec4 ? x4[token * (p.cols / 4u) + v] : vec4(0.0);
    const vec4 ax = abs(xv);
    amax_part[tid] = max(max(ax.x, ax.y), max(ax.z, ax.w));
    barrier();
    float amax = 0.0;
    for (uint i = 0; i < 8u; ++i) amax = max(amax, amax_part[(tid & ~7u) + i]);
    barrier();  // read before the next round overwrites it
    if (v >= n_vec4) continue;
    const float d = amax / 127.0;
    const ivec4 q = ivec4(round(xv * (d > 0.0 ? 1.0 / d : 0.0)));
    const uint blk = v / 8u;
    xq[blk * 9u + 1u + v % 8u] = (uint(q.x) & 0xffu) | ((uint(q.y) & 0xffu) << 8) | ((uint(q.z) & 0xffu) << 16) |
                                 (uint(q.w) << 24);
    if (v % 8u == 0u) xq[blk * 9u] = floatBitsToUint(d);
  }
}

void main() {
  const uint token = gl_WorkGroupID.y;
  quantize_x(token);
  barrier();
  const uint lane = slice_lane();
  const uint row = group_x() * ROWS + slice_index();
  const uint n_blocks = row < p.rows ? X_BLOCKS : 0u;  // slices past the last row add nothing
  float acc = 0.0;
  for (uint blk = lane; blk < n_blocks; blk += 32u) {
    const uint b = p.w_offset + row * p.row_bytes + blk * 34u;
    const float dw = load_f16(b);
    const float dx = uintBitsToFloat(xq[blk * 9u]);
    const uint w0 = (b + 2u) >> 2, shift = ((b + 2u) & 2u) * 8u;
    int isum = 0;
    for (uint j = 0; j < 8u; ++j) {
      const uint lo = w_words[w0 + j];
      const uint wq = shift == 0u ? lo : (lo >> 16) | (w_words[w0 + j + 1u] << 16);
      isum += sdot4(wq, xq[blk * 9u + 1u + j]);
    }
    acc += dw * dx * float(isum);
  }
  const float total = slice_sum(acc);  // uniform control flow: it may hold a barrier
  if (lane == 0u && row < p.rows) y[token * p.rows + row] = total;
}
