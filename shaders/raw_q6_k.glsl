// Q6_K chunk split into its loads and its arithmetic, for matmul_wide_main.glsl's prefetch (see raw_q4_k.glsl).
// Blocks are only 2-byte aligned, so the 32 low-bit and 32 high-bit bytes are kept as the 9 words that hold them
// and shifted into place afterwards.
#define RAW_CHUNK 1
struct RawChunk {
  uint lo[9], hi[9];  // words holding ql[..32] and qh[..32] of the chunk
  uint odd;           // 16 when the block starts at a half word, else 0
  uint scw, sc_shift;  // word holding the two scale bytes, and their bit offset in it
  uint dw;             // word holding d
};
RawChunk load_raw(uint row_byte, uint chunk) {
  RawChunk r;
  const uint b = row_byte + (chunk / 8u) * 210u;
  const uint j = chunk % 8u, h = j / 4u, q = j % 4u;
  const uint ql = (b + 64u * h + 32u * (q & 1u)) >> 2, qh = (b + 128u + 32u * h) >> 2;
  for (uint i = 0; i < 9u; ++i) {
    r.lo[i] = w_words[ql + i];
    r.hi[i] = w_words[qh + i];
  }
  r.odd = (b & 2u) * 8u;
  const uint sc = b + 192u + 8u * h + 2u * q;
  r.scw = w_words[sc >> 2];
  r.sc_shift = (sc & 2u) * 8u;
  r.dw = w_words[(b + 208u) >> 2];
  return r;
}
void decode_raw(RawChunk r, uint chunk, out float v[32]) {
  const uint j = chunk % 8u, q = j % 4u;
  const uint lo_shift = (q / 2u) * 4u, hi_shift = 2u * q;
  const uint sc2 = r.scw >> r.sc_shift;
  const float d = unpackHalf2x16(r.dw >> r.odd).x;
  const float d0 = d * float(int(sc2 << 24) >> 24), d1 = d * float(int(sc2 << 16) >> 24);
  for (uint i = 0; i < 8u; ++i) {
    // 4 bytes starting at byte 4i of the run: word i, or halves of words i and i + 1.
    const uint lo = r.odd == 0u ? r.lo[i] : (r.lo[i] >> 16) | (r.lo[i + 1u] << 16);
    const uint hi = r.odd == 0u ? r.hi[i] : (r.hi[i] >> 16) | (r.hi[i + 1u] << 16);
    for (uint k = 0; k < 4u; ++k) {
      const int q6 = int(((lo >> (8u * k + lo_shift)) & 15u) | (((hi >> (8u * k + hi_shift)) & 3u) << 4)) - 32;
      v[4u * i + k] = (i < 4u ? d0 : d1) * float(q6);
    }
  }
}
