// Q8_0 block (= chunk) of 34 bytes: fp16 d, 32 int8 q; x = d * q.
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + chunk * 34u;
  const float d = load_f16(b);
  for (uint i = 0; i < 32u; ++i) v[i] = d * float(load_i8(b + 2u + i));
}
