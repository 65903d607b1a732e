// BF16 row: 32 bfloat16 per chunk, read as 16 words (word-aligned as dq_f16.glsl).
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint word = (row_byte >> 2) + chunk * 16u;
  for (uint i = 0; i < 16u; ++i) {
    const uint w = w_words[word + i];
    v[2u * i] = uintBitsToFloat(w << 16);
    v[2u * i + 1u] = uintBitsToFloat(w & 0xffff0000u);
  }
}
