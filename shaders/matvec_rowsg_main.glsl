// Decode mat-vec for K-quant rows (cols % 256 == 0): 32 invocations per output row, WG_SIZE / 32 rows per
// workgroup, one token per workgroup row (y). Within a 256-element super-block each invocation takes 8 elements
// chosen so that its weight bytes are one or two aligned words/halves and the 32 invocations together read the
// block's quant bytes once, contiguously; x is read in the same pattern. Partial sums meet in shared memory (one
// barrier), so any subgroup size works. The type's file defines, before including this one:
//   float superblock_dot(uint block_byte, uint lane, uint x_base)   // lane in [0, 32)
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
} p;

shared float row_partial[WG_SIZE];

void main() {
  const uint lane = gl_LocalInvocationID.x % 32u;
  const uint local_row = gl_LocalInvocationID.x / 32u;
  const uint row = gl_WorkGroupID.x * (WG_SIZE / 32u) + local_row;
  const uint token = gl_WorkGroupID.y;
  float acc = 0.0;
  if (row < p.rows) {
    const uint row_byte = p.w_offset + row * p.row_bytes;
    const uint blocks = p.cols / 256u;
    for (uint b = 0; b < blocks; ++b) acc += superblock_dot(row_byte + b * BLOCK_BYTES, lane, token * p.cols + b * 256u);
  }
  row_partial[gl_LocalInvocationID.x] = acc;
  barrier();
  if (lane == 0u && row < p.rows) {
    float total = 0.0;
    for (uint i = 0; i < 32u; ++i) total += row_partial[gl_LocalInvocationID.x + i];
    y[token * p.rows + row] = total;
  }
}
