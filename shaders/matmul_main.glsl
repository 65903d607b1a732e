// Tiled mat-mul skeleton for prefill: Y[t, r] = sum_c W[r, c] * X[t, c]. A workgroup computes a BM x BN tile
// (weight rows x tokens). Per 32-column step it dequantizes BM row chunks of W (dequant_chunk of the type's
// dq_*.glsl, included before this file) and loads BN x 32 activations into shared memory; every invocation then
// accumulates a TM x TN register block in fp32. Rows and tokens past the ends are zero-filled and not stored.
// Specialization constants: 0 workgroup size (= (BM / TM) * (BN / TN), checked by the host), 1 BM, 2 BN, 3 TM,
// 4 TN.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
const uint BK = 32u;  // one dequant chunk
layout(constant_id = 3) const uint TM = 4;  // register block: TM rows x TN tokens per invocation
layout(constant_id = 4) const uint TN = 4;

layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
#include "matmul_params.glsl"

// [k][row] and [k][token], padded by one so the dequant writes (stride BM + 1 per invocation) spread over banks.
shared float w_tile[BK * (BM + 1u)];
shared float x_tile[BK * (BN + 1u)];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * BM;
  const uint tok0 = gl_WorkGroupID.y * BN;
  const uint threads_m = BM / TM;
  const uint tr = tid % threads_m, tc = tid / threads_m;  // this invocation: rows tr + i*threads_m, tokens tc + j*..
  const uint threads_n = BN / TN;

  float acc[TM * TN];
  for (uint i = 0; i < TM * TN; ++i) acc[i] = 0.0;
  float v[32];
  const uint n_chunks = p.cols / BK;
  for (uint chunk = 0; chunk < n_chunks; ++chunk) {
    barrier();  // the previous step's reads of the tiles are done
    for (uint r = tid; r < BM; r += WG_SIZE) {
      const uint row = row0 + r;
      if (row < p.rows) {
        dequant_chunk(p.w_offset + row * p.row_bytes, chunk, v);
      } else {
        for (uint k = 0; k < BK; ++k) v[k] = 0.0;
      }
      for (uint k = 0; k < BK; ++k) w_tile[k * (BM + 1u) + r] = v[k];
    }
    // Activations: consecutive invocations read consecutive columns of one token (coalesced).
    for (uint i = tid; i < BK * BN; i += WG_SIZE) {
      const uint k = i % BK, n = i / BK;
      const uint tok = tok0 + n;
      x_tile[k * (BN + 1u) + n] = tok < p.n_tokens ? x[tok * p.cols + chunk * BK + k] : 0.0;
    }
    barrier();
    for (uint k = 0; k < BK; ++k) {
      float a[TM], b[TN];
      for (uint i = 0; i < TM; ++i) a[i] = w_tile[k * (BM + 1u) + tr + i * threads_m];
      for (uint j = 0; j < TN; ++j) b[j] = x_tile[k * (BN + 1u) + tc + j * threads_n];
      for (uint i = 0; i < TM; ++i) {
        for (uint j = 0; j < TN; ++j) acc[i * TN + j] += a[i] * b[j];
      }
    }
  }
  for (uint j = 0; j < TN; ++j) {
    const uint tok = tok0 + tc + j * threads_n;
    if (tok >= p.n_tokens) continue;
    for (uint i = 0; i < TM; ++i) {
      const uint row = row0 + tr + i * threads_m;
      if (row < p.rows) y[tok * p.rows + row] = acc[i * TN + j];
    }
  }
}
