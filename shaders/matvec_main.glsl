// Mat-vec skeleton: y[t, r] = sum_c W[r, c] * x[t, c]. One workgroup per ROWS consecutive output rows (x) and token
// (y); the rows are cut into 32-element chunks that the invocations share, each invocation loading its chunk of x
// once for all ROWS rows. The type's dq_*.glsl, included before this file, defines
//   void dequant_chunk(uint row_byte, uint chunk, out float v[32])
// Specialization constants: 0 workgroup size (common.glsl), 1 ROWS (1..MAX_ROWS).
layout(constant_id = 1) const uint ROWS = 1;
const uint MAX_ROWS = 8u;
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of the block size)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
} p;

void main() {
  const uint row0 = group_x() * ROWS;
  const uint token = gl_WorkGroupID.y;
  const uint x_row = token * p.cols;
  float acc[MAX_ROWS];
  for (uint r = 0; r < ROWS; ++r) acc[r] = 0.0;
  float v[32], xv[32];
  for (uint chunk = gl_LocalInvocationID.x; chunk < p.cols / 32u; chunk += WG_SIZE) {
    const uint xb = x_row + chunk * 32u;
    for (uint i = 0; i < 32u; ++i) xv[i] = x[xb + i];
    for (uint r = 0; r < ROWS; ++r) {
      const uint row = row0 + r;
      if (row >= p.rows) break;  // uniform per workgroup
      dequant_chunk(p.w_offset + row * p.row_bytes, chunk, v);
      float s = 0.0;
      for (uint i = 0; i < 32u; ++i) s += v[i] * xv[i];
      acc[r] += s;
    }
  }
  for (uint r = 0; r < ROWS; ++r) {
    const float total = wg_sum(acc[r]);  // every invocation takes part (barriers inside)
    if (gl_LocalInvocationID.x == 0 && row0 + r < p.rows) y[token * p.rows + row0 + r] = total;
  }
}
