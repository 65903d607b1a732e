// Q6_K super-block of 210 bytes: ql[128], qh[64], int8 scales[16], fp16 d. Chunk j = 32 elements 128h + 32q + l
// with h = j / 4, q = j % 4: low bits from ql[64h + l + 32 (q & 1)] (low nibble for q < 2), high bits
// (qh[32h + l] >> 2q) & 3; scale scales[8h + 2q + l / 16]; x = d * scale * (q6 - 32).
void dequant_chunk(uint row_byte, uint chunk, out float v[32]) {
  const uint b = row_byte + (chunk / 8u) * 210u;
  const uint j = chunk % 8u;
  const uint h = j / 4u, q = j % 4u;
  const uint ql = b + 64u * h + 32u * (q & 1u);
  const uint qh = b + 128u + 32u * h;
  const uint lo_shift = (q / 2u) * 4u, hi_shift = 2u * q;
  const uint sc = b + 192u + 8u * h + 2u * q;
  const float d = load_f16(b + 208u);
  const float d0 = d * float(load_i8(sc)), d1 = d * float(load_i8(sc + 1u));
  for (uint l = 0; l < 32u; ++l) {
    const int q6 = int(((load_u8(ql + l) >> lo_shift) & 15u) | (((load_u8(qh + l) >> hi_shift) & 3u) << 4)) - 32;
    v[l] = (l < 16u ? d0 : d1) * float(q6);
  }
}
