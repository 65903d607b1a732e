// F32 row: 32 consecutive floats per chunk (row_byte must be word-aligned).
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint word = (row_byte >> 2) + chunk * 32u;
  for (uint i = 0; i < 32u; ++i) v[i] = uintBitsToFloat(w_words[word + i]);
}
