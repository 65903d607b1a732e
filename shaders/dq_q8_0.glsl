// Q8_0 block (= chunk) of 34 bytes: fp16 d, 32 int8 q; x = d * q. Blocks are 2-byte aligned: q read as 16 halves.
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + chunk * 34u;
  const float d = load_f16(b);
  for (uint i = 0; i < 16u; ++i) {
    const uint q2 = load_u16(b + 2u + 2u * i);
    v[2u * i] = d * float(int(q2 << 24) >> 24);
    v[2u * i + 1u] = d * float(int(q2 << 16) >> 24);
  }
}
