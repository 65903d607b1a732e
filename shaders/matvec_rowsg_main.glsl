// Decode mat-vec for K-quant rows (cols % 256 == 0): one workgroup per output row and token (y). The workgroup is
// WG_SIZE / 32 slices of 32 invocations; slice i takes super-blocks i, i + WG_SIZE / 32, ... so the loads of
// different super-blocks are in flight at once (a 2048-wide row is 8 super-blocks: one each). Within a 256-element
// super-block each of the 32 invocations takes 8 elements chosen so that its weight bytes are one or two aligned
// words/halves and the 32 together read the block's quant bytes once, contiguously; x is read in the same pattern.
// The type's file defines, before including this one:
//   float superblock_dot(uint block_byte, uint lane, uint x_base)   // lane in [0, 32)
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
} p;

void main() {
  const uint lane = gl_LocalInvocationID.x % 32u;
  const uint slice = gl_LocalInvocationID.x / 32u;
  const uint row = group_x();
  if (row >= p.rows) return;  // the whole workgroup: a grid spread over z has spare groups
  const uint token = gl_WorkGroupID.y;
  const uint row_byte = p.w_offset + row * p.row_bytes;
  const uint blocks = p.cols / 256u;
  float acc = 0.0;
  for (uint b = slice; b < blocks; b += WG_SIZE / 32u)
    acc += superblock_dot(row_byte + b * BLOCK_BYTES, lane, token * p.cols + b * 256u);
  const float total = wg_sum(acc);  // every invocation takes part (barriers inside)
  if (gl_LocalInvocationID.x == 0u) y[token * p.rows + row] = total;
}
