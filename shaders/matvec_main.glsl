// Mat-vec skeleton: y[t, r] = sum_c W[r, c] * x[t, c]. One workgroup per output row (x) and token (y); the row is cut
// into 32-element chunks that the invocations share. The type's dq_*.glsl, included before this file, defines
//   void dequant_chunk(uint row_byte, uint chunk, out float v[32])
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of the block size)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
} p;

void main() {
  const uint row = gl_WorkGroupID.x;
  const uint token = gl_WorkGroupID.y;
  if (row >= p.rows) return;  // uniform per workgroup
  const uint row_byte = p.w_offset + row * p.row_bytes;
  const uint x_row = token * p.cols;
  float acc = 0.0;
  float v[32];
  for (uint chunk = gl_LocalInvocationID.x; chunk < p.cols / 32u; chunk += WG_SIZE) {
    dequant_chunk(row_byte, chunk, v);
    const uint xb = x_row + chunk * 32u;
    for (uint i = 0; i < 32u; ++i) acc += v[i] * x[xb + i];
  }
  const float total = wg_sum(acc);
  if (gl_LocalInvocationID.x == 0) y[token * p.rows + row] = total;
}
