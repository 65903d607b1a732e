// Shared by matvec_q4_k_sg.comp and matvec_q4_k_glu.comp: a lane's share of one Q4_K super-block (the lane layout
// those kernels describe). The including shader declares x4 (the input as vec4).
// Lane's share of one super-block: header hd, nibble bytes q, x starting at vec4 index xv. The scale bytes of
// sub-blocks 2 * pair and 2 * pair + 1 are picked with shifts (no dynamic vector indexing, which may spill).
float block_dot(uvec4 hd, uvec4 q, uint pair, uint xv) {
  const uint sh = 16u * (pair & 1u);
  const uint A = hd.y >> sh, B = hd.z >> sh, C = hd.w >> sh;  // scales[2 * (pair & 1) + 0, 4, 8 ..], 2 bytes each
  float sc0, m0, sc1, m1;
  if (pair < 2u) {  // sub-blocks 0..3: 6-bit values in scales[j] and scales[j + 4]
    sc0 = float(A & 63u);
    sc1 = float((A >> 8) & 63u);
    m0 = float(B & 63u);
    m1 = float((B >> 8) & 63u);
  } else {  // sub-blocks 4..7: low 4 bits from scales[j + 4], high 2 from the top of scales[j - 4] / scales[j]
    sc0 = float((C & 15u) | (((A >> 6) & 3u) << 4));
    sc1 = float(((C >> 8) & 15u) | (((A >> 14) & 3u) << 4));
    m0 = float(((C >> 4) & 15u) | (((B >> 6) & 3u) << 4));
    m1 = float(((C >> 12) & 15u) | (((B >> 14) & 3u) << 4));
  }
  const vec2 dm = unpackHalf2x16(hd.x);  // d, dmin
  // The nibbles enter as the floats 1 + n / 16 (n or-ed into the mantissa below an exponent of 1.0), not through
  // integer-to-float conversions, a quarter-rate instruction on NVIDIA; sum(n x) = 16 (sum((1 + n / 16) x) - sum(x))
  // then costs nothing extra because sum(x) is needed for the mins anyway.
  float e0 = 0.0, e1 = 0.0;
  vec4 s0 = vec4(0.0), s1 = vec4(0.0);
  for (uint c = 0; c < 4u; ++c) {
    const uvec4 bytes = uvec4(q[c]) >> uvec4(0u, 8u, 16u, 24u);
    const vec4 xa = x4[xv + c], xb = x4[xv + 8u + c];  // elements +0..15 and +32..47
    e0 += dot(uintBitsToFloat(((bytes & 15u) << 19) | 0x3f800000u), xa);
    e1 += dot(uintBitsToFloat(((bytes & 0xf0u) << 15) | 0x3f800000u), xb);
    s0 += xa;
    s1 += xb;
  }
  const float sum0 = s0.x + s0.y + s0.z + s0.w, sum1 = s1.x + s1.y + s1.z + s1.w;
  const float dot0 = 16.0 * (e0 - sum0), dot1 = 16.0 * (e1 - sum1);
  return dm.x * (sc0 * dot0 + sc1 * dot1) - dm.y * (m0 * sum0 + m1 * sum1);
}
