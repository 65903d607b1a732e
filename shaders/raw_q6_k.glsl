// Q6_K half-chunk (16 columns) split into its loads and its arithmetic, for matmul_wide_main.glsl's prefetch (see
// raw_q4_k.glsl). Blocks are only 2-byte aligned, so the 16 low-bit and 16 high-bit bytes are kept as the 5 words
// that hold them and shifted into place afterwards.
#define RAW_HALF 1
struct RawHalf {
  uint lo[5], hi[5];  // words holding ql[16 * half ..][..16] and qh[..] of the chunk
  uint odd;           // 16 when the block starts at a half word, else 0
  uint scw, sc_shift;  // word holding the half's scale byte, and its bit offset in it
  uint dw;             // word holding d
};
RawHalf load_raw_half(uint row_byte, uint chunk, uint half_) {
  RawHalf r;
  const uint b = row_byte + (chunk / 8u) * 210u;
  const uint j = chunk % 8u, h = j / 4u, q = j % 4u;
  const uint ql = (b + 64u * h + 32u * (q & 1u) + 16u * half_) >> 2, qh = (b + 128u + 32u * h + 16u * half_) >> 2;
  for (uint i = 0; i < 5u; ++i) {
    r.lo[i] = w_words[ql + i];
    r.hi[i] = w_words[qh + i];
  }
  r.odd = (b & 2u) * 8u;
  const uint sc = b + 192u + 8u * h + 2u * q + half_;
  r.scw = w_words[sc >> 2];
  r.sc_shift = (sc & 3u) * 8u;
  r.dw = w_words[(b + 208u) >> 2];
  return r;
}
void decode_raw_half(RawHalf r, uint chunk, uint half_, out float v[16]) {
  const uint j = chunk % 8u, q = j % 4u;
  const uint lo_shift = (q / 2u) * 4u, hi_shift = 2u * q;
  const float d = unpackHalf2x16(r.dw >> r.odd).x * float(int((r.scw >> r.sc_shift) << 24) >> 24);
  for (uint i = 0; i < 4u; ++i) {
    // 4 bytes starting at byte 4i of the run: word i, or halves of words i and i + 1.
    const uint lo = r.odd == 0u ? r.lo[i] : (r.lo[i] >> 16) | (r.lo[i + 1u] << 16);
    const uint hi = r.odd == 0u ? r.hi[i] : (r.hi[i] >> 16) | (r.hi[i + 1u] << 16);
    for (uint k = 0; k < 4u; ++k) {
      const int q6 = int(((lo >> (8u * k + lo_shift)) & 15u) | (((hi >> (8u * k + hi_shift)) & 3u) << 4)) - 32;
      v[4u * i + k] = d * float(q6);
    }
  }
}
