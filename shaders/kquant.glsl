// 6-bit (scale, min) of sub-block j of a Q4_K/Q5_K block whose 12 scale bytes start at byte sb.
// Included once per shader (dq_q4_k / dq_q5_k include it).
void k_scale_min(uint sb, uint j, out float sc, out float m) {
  if (j < 4u) {
    sc = float(load_u8(sb + j) & 63u);
    m = float(load_u8(sb + j + 4u) & 63u);
  } else {
    sc = float((load_u8(sb + j + 4u) & 15u) | ((load_u8(sb + j - 4u) >> 6) << 4));
    m = float((load_u8(sb + j + 4u) >> 4) | ((load_u8(sb + j) >> 6) << 4));
  }
}
