// The output side of the 32-lane-slice decode mat-vecs (matvec_q4_k_sg, matvec_q6_k_sg): the push constants and
// store_row, which slice `slice` (row `row`, token `token`) calls with its sum, valid in lane 0, from uniform
// control flow. Plain: y[token * rows + row] = total.
// With ROPE_OUT (the _rope shaders) the q/k/v projections of a decode step also do what rope_store would (for models
// without q/k norms, adjacent-pair RoPE): mode 1 rotates each pair of rows (2i, 2i + 1) of a head by the table row at
// cs_offset + token * head_dim (cosines, then sines; pair i of a head uses entry i) into y; mode 2 rotates them into
// the KV cache at float offset dst + token * rows + row; mode 3 stores the rows there unrotated (values). A pair's two
// rows are neighbouring slices of one workgroup (ROWS is even), so the rotation reads its partner from shared memory.
#ifdef ROPE_OUT
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer CosSin { float cs[]; };
layout(std430, binding = 4) writeonly buffer Cache { KV_SCALAR cache[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows (a multiple of head_dim)
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
  uint mode;       // 1: rotate into y, 2: rotate into the cache, 3: into the cache as it is
  uint cs_offset;
  uint head_dim;   // even
  uint dst;
} p;

shared float row_total[ROWS];

void store_row(uint row, uint token, uint lane, uint slice, float total) {
  if (lane == 0u) row_total[slice] = total;
  barrier();
  if (lane != 0u || row >= p.rows) return;
  float v = total;
  if (p.mode != 3u) {
    const float a = row_total[slice & ~1u], b = row_total[slice | 1u];
    const uint i = (row % p.head_dim) / 2u, t = p.cs_offset + token * p.head_dim;
    const float c = cs[t + i], s = cs[t + p.head_dim / 2u + i];
    v = (slice & 1u) == 0u ? a * c - b * s : b * c + a * s;
  }
  if (p.mode == 1u) y[token * p.rows + row] = v;
  else cache[p.dst + token * p.rows + row] = KV_SCALAR(v);
}
#else
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
} p;

void store_row(uint row, uint token, uint lane, uint slice, float total) {
  if (lane == 0u && row < p.rows) y[token * p.rows + row] = total;
}
#endif
