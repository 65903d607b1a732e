// Row lookup (token embeddings): out[i, :] = dequantized W[ids[i], :]. One workgroup per id; the invocations share
// the row's 32-element chunks. The type's dq_*.glsl, included before this file, defines dequant_chunk.
layout(std430, binding = 1) readonly buffer Ids { uint ids[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params {
  uint rows;       // rows of W; ids at or past it write nothing (the host validates ids)
  uint cols;
  uint row_bytes;
  uint w_offset;
} p;

void main() {
  const uint i = gl_WorkGroupID.x;
  const uint row = ids[i];
  if (row >= p.rows) return;
  const uint row_byte = p.w_offset + row * p.row_bytes;
  float v[32];
  for (uint chunk = gl_LocalInvocationID.x; chunk < p.cols / 32u; chunk += WG_SIZE) {
    dequant_chunk(row_byte, chunk, v);
    for (uint j = 0; j < 32u; ++j) outv[i * p.cols + chunk * 32u + j] = v[j];
  }
}
