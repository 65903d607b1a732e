// F16 row: 32 halves per chunk, read as 16 words (row starts are word-aligned: w_offset % 4 == 0 and rows of
// 32k halves).
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint word = (row_byte >> 2) + chunk * 16u;
  for (uint i = 0; i < 16u; ++i) {
    const vec2 h = unpackHalf2x16(w_words[word + i]);
    v[2u * i] = h.x;
    v[2u * i + 1u] = h.y;
  }
}
