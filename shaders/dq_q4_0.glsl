// Q4_0 block (= chunk) of 18 bytes: fp16 d, 16 bytes; byte j holds element j (low nibble) and j+16 (high);
// x = d * (q - 8).
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + chunk * 18u;
  const float d = load_f16(b);
  for (uint j = 0; j < 16u; ++j) {
    const uint q = load_u8(b + 2u + j);
    v[j] = d * float(int(q & 15u) - 8);
    v[j + 16u] = d * float(int(q >> 4) - 8);
  }
}
