// BF16 row: 32 bfloat16 per chunk.
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + chunk * 64u;
  for (uint i = 0; i < 32u; ++i) v[i] = load_bf16(b + 2u * i);
}
