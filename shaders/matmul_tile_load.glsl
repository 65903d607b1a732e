// The loading half of the 128-row prefill mat-muls (matmul_wide_main.glsl, matmul_cm_main.glsl), 256 invocations:
// per 32-column step, invocations 0..127 dequantize one weight row's chunk each (the type's raw_*.glsl split load,
// else dequant_chunk of its dq_*.glsl) while 128..255 load the BN x 32 activations, both into registers one step
// ahead (load_step) so that their memory latency passes during the current step's arithmetic; store_step then hands
// them, dequantized, to the including file's tiles through its put_w(buf, k, row, v) and put_x(buf, k, token, v).
// Rows and tokens past the ends are zero-filled. Expects BM (128), BK (32), BN, x[] and p (matmul_params.glsl).

#ifndef RAW_CHUNK
// Types without a split load: the "raw" chunk is already dequantized, so their loads are not overlapped.
struct RawChunk {
  float v[32];
};
RawChunk load_raw(uint row_byte, uint chunk) {
  RawChunk r;
  dequant_chunk(row_byte, chunk, r.v);
  return r;
}
void decode_raw(RawChunk r, uint chunk, out float v[32]) { v = r.v; }
#endif

const uint X_LOADS = (BN * BK / 4u) / (256u - BM);  // vec4 activation loads per loading invocation

// Per invocation: where it loads, and the registers of the next step, its weight chunk (dequantizers) or its
// activations (the others).
uint tid, tok0, row_byte;
bool dequantizer, row_ok;
RawChunk raw;
vec4 xr[X_LOADS];

// Sets the per-invocation state for the workgroup's tile at weight row row0, token tok0_.
void tile_load_init(uint row0, uint tok0_) {
  tid = gl_LocalInvocationID.x;
  tok0 = tok0_;
  dequantizer = tid < BM;
  const uint row = row0 + tid;
  row_ok = dequantizer && row < p.rows;
  row_byte = p.w_offset + min(row, p.rows - 1u) * p.row_bytes;
}

void load_step(uint chunk) {
  if (row_ok) raw = load_raw(row_byte, chunk);
  if (!dequantizer) {
    [[unroll]] for (uint j = 0; j < X_LOADS; ++j) {
      // Invocation i: token i % BN, columns 4 * (i / BN) + 0..3 (consecutive invocations write consecutive tokens
      // of one k, so the shared stores do not conflict).
      const uint i = tid - BM + j * (256u - BM);
      const uint tok = tok0 + i % BN, base = tok * p.cols + chunk * BK + (i / BN) * 4u;
      xr[j] = tok < p.n_tokens ? vec4(x[base], x[base + 1u], x[base + 2u], x[base + 3u]) : vec4(0.0);
    }
  }
}

// The registers load_step(chunk) filled, dequantized, into tile buffer buf.
void store_step(uint chunk, uint buf) {
  if (dequantizer) {
    float v[32];
    if (row_ok) {
      decode_raw(raw, chunk, v);
    } else {
      [[unroll]] for (uint k = 0; k < BK; ++k) v[k] = 0.0;
    }
    [[unroll]] for (uint k = 0; k < BK; ++k) put_w(buf, k, tid, v[k]);
  } else {
    [[unroll]] for (uint j = 0; j < X_LOADS; ++j) {
      const uint i = tid - BM + j * (256u - BM);
      const uint t = i % BN, k4 = i / BN;
      [[unroll]] for (uint c = 0; c < 4u; ++c) put_x(buf, k4 * 4u + c, t, xr[j][c]);
    }
  }
}
