// Q4_K chunk split into its loads and its arithmetic, for matmul_wide_main.glsl's prefetch (the loads of the next
// step are issued before the current step's FMAs and used after them): the block's words as stored (d/dmin, the
// 12 scale bytes, the 8 nibble words of the chunk's sub-block pair), then dequant_chunk's arithmetic on them.
#define RAW_CHUNK 1
struct RawChunk {
  uint head;   // d, dmin (fp16)
  uvec3 sc;    // scale bytes 0..11
  uint qs[8];  // nibble bytes of sub-blocks 2 (s / 2), 2 (s / 2) + 1
};
RawChunk load_raw(uint row_byte, uint chunk) {
  RawChunk r;
  const uint b = (row_byte + (chunk / 8u) * 144u) >> 2;
  r.head = w_words[b];
  r.sc = uvec3(w_words[b + 1u], w_words[b + 2u], w_words[b + 3u]);
  const uint qs = b + 4u + 8u * ((chunk % 8u) / 2u);
  for (uint i = 0; i < 8u; ++i) r.qs[i] = w_words[qs + i];
  return r;
}
uint raw_scale_byte(uvec3 sc, uint i) { return (sc[i / 4u] >> (8u * (i % 4u))) & 0xffu; }
void decode_raw(RawChunk r, uint chunk, out float v[32]) {
  const uint s = chunk % 8u;
  float sc, m;
  if (s < 4u) {
    sc = float(raw_scale_byte(r.sc, s) & 63u);
    m = float(raw_scale_byte(r.sc, s + 4u) & 63u);
  } else {
    sc = float((raw_scale_byte(r.sc, s + 4u) & 15u) | ((raw_scale_byte(r.sc, s - 4u) >> 6) << 4));
    m = float((raw_scale_byte(r.sc, s + 4u) >> 4) | ((raw_scale_byte(r.sc, s) >> 6) << 4));
  }
  const vec2 dm = unpackHalf2x16(r.head);
  const float d = dm.x * sc, dmin = dm.y * m;
  const uint shift = (s & 1u) * 4u;
  for (uint i = 0; i < 8u; ++i) {
    const uint w = r.qs[i] >> shift;
    for (uint k = 0; k < 4u; ++k) v[4u * i + k] = d * float((w >> (8u * k)) & 15u) - dmin;
  }
}
