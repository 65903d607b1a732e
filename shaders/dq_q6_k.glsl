// Q6_K super-block of 210 bytes: ql[128], qh[64], int8 scales[16], fp16 d. Chunk j = 32 elements 128h + 32q + l
// with h = j / 4, q = j % 4: low bits from ql[64h + l + 32 (q & 1)] (low nibble for q < 2), high bits
// (qh[32h + l] >> 2q) & 3; scale scales[8h + 2q + l / 16]; x = d * scale * (q6 - 32). Blocks are 2-byte aligned:
// ql and qh are read as halves.
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
  for (uint i = 0; i < 16u; ++i) {
    const uint lo2 = load_u16(ql + 2u * i) >> lo_shift, hi2 = load_u16(qh + 2u * i) >> hi_shift;
    for (uint k = 0; k < 2u; ++k) {
      const int q6 = int(((lo2 >> (8u * k)) & 15u) | (((hi2 >> (8u * k)) & 3u) << 4)) - 32;
      v[2u * i + k] = (i < 8u ? d0 : d1) * float(q6);
    }
  }
}
