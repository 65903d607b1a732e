// Q4_K half-chunk (16 columns of a 32-column sub-block) split into its loads and its arithmetic, for
// matmul_wide_main.glsl's prefetch (the loads of the next step are issued before the current step's FMAs and used
// after them): the block's words as stored (d/dmin, the 12 scale bytes, the 4 nibble words of this half of the
// chunk's sub-block pair), then the arithmetic on them.
#define RAW_HALF 1
struct RawHalf {
  uint head;   // d, dmin (fp16)
  uvec3 sc;    // scale bytes 0..11
  uint qs[4];  // nibble bytes 16 * half .. + 15 of sub-blocks 2 (s / 2), 2 (s / 2) + 1
};
RawHalf load_raw_half(uint row_byte, uint chunk, uint half_) {
  RawHalf r;
  const uint b = (row_byte + (chunk / 8u) * 144u) >> 2;
  r.head = w_words[b];
  r.sc = uvec3(w_words[b + 1u], w_words[b + 2u], w_words[b + 3u]);
  const uint qs = b + 4u + 8u * ((chunk % 8u) / 2u) + 4u * half_;
  for (uint i = 0; i < 4u; ++i) r.qs[i] = w_words[qs + i];
  return r;
}
uint raw_scale_byte(uvec3 sc, uint i) { return (sc[i / 4u] >> (8u * (i % 4u))) & 0xffu; }
void decode_raw_half(RawHalf r, uint chunk, uint half_, out float v[16]) {
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
  for (uint i = 0; i < 4u; ++i) {
    const uint w = r.qs[i] >> shift;
    for (uint k = 0; k < 4u; ++k) v[4u * i + k] = d * float((w >> (8u * k)) & 15u) - dmin;
  }
}
