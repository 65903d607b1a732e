// Q4_0 block (= chunk) of 18 bytes: fp16 d, 16 bytes; byte j holds element j (low nibble) and j+16 (high);
// x = d * (q - 8). Blocks are 2-byte aligned: the 16 bytes are read as 8 halves.
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + chunk * 18u;
  const float d = load_f16(b);
  for (uint i = 0; i < 8u; ++i) {
    const uint q2 = load_u16(b + 2u + 2u * i);
    for (uint k = 0; k < 2u; ++k) {
      const uint q = (q2 >> (8u * k)) & 0xffu;
      v[2u * i + k] = d * float(int(q & 15u) - 8);
      v[2u * i + k + 16u] = d * float(int(q >> 4) - 8);
    }
  }
}
