#version 450
#include "common.glsl"
#include "weights.glsl"
// Decode mat-vec for Q6_K rows (cols % 256 == 0; 210-byte super-blocks: ql[128], qh[64], int8 scales[16], fp16 d,
// only 2-byte aligned). A workgroup is ROWS slices of 32 invocations, one output row per slice; lane = 8 * k + part
// takes, in super-blocks k, k + 4, ..., half h = part / 4 and the 8 bytes l = l0 .. l0 + 7 (l0 = 8 * (part % 4)) of
// ql[64h + l], ql[64h + 32 + l] and qh[32h + l]: elements 128h + 32q + l for q < 4 (low nibbles for q < 2, high for
// q >= 2, high bits (qh >> 2q) & 3), scale scales[8h + 2q + l0 / 16]. Each 8-byte run is read as two or three
// aligned words; two super-blocks per step keep their loads in flight. x is read directly as vec4. The 32 lane sums
// of a row are added by slice_sum (slice.glsl), so any subgroup size works.
// Specialization constants: 0 workgroup size (= 32 * ROWS), 1 ROWS.
layout(constant_id = 1) const uint ROWS = 4;
layout(std430, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row (210 per super-block)
  uint w_offset;   // byte offset of the matrix in the weight buffer
} p;

// The 8 bytes at the even byte offset o, as two words (a third word is read only when o is not word-aligned).
uvec2 load_8(uint o) {
  const uint i = o >> 2;
  const uint a = w_words[i], b = w_words[i + 1u];
  if ((o & 2u) == 0u) return uvec2(a, b);
  const uint c = w_words[i + 2u];
  return uvec2((a >> 16) | (b << 16), (b >> 16) | (c << 16));
}

struct Loads {
  uvec2 qa, qb, qh, sc;
  float d;
};

Loads load_block(uint blk, uint hf, uint l0) {
  Loads r;
  r.qa = load_8(blk + 64u * hf + l0);
  r.qb = load_8(blk + 64u * hf + 32u + l0);
  r.qh = load_8(blk + 128u + 32u * hf + l0);
  r.sc = load_8(blk + 192u + 8u * hf);
  r.d = load_f16(blk + 208u);
  return r;
}


// The four bytes of q as floats minus 32, without integer-to-float conversions (a quarter-rate instruction on
// NVIDIA): a float with the exponent bits of 2^23 holds the integer in its low mantissa bits exactly, so or-ing a
// byte in and subtracting 2^23 + 32 gives byte - 32 with two full-rate operations.
vec4 bytes_minus_32(uint q) {
  return uintBitsToFloat(((uvec4(q) >> uvec4(0u, 8u, 16u, 24u)) & 0xffu) | 0x4b000000u) - 8388640.0;
}

float block_dot(Loads r, uint l0, uint xv) {
  vec4 s = vec4(0.0);  // per q
  for (uint w = 0; w < 2u; ++w) {
    // Four elements per byte lane at once: low nibbles of ql, two high bits of qh moved to bits 4..5.
    const uint a = r.qa[w], b = r.qb[w], h = r.qh[w];
    s.x += dot(bytes_minus_32((a & 0x0f0f0f0fu) | ((h << 4) & 0x30303030u)), x4[xv + w]);
    s.y += dot(bytes_minus_32((b & 0x0f0f0f0fu) | ((h << 2) & 0x30303030u)), x4[xv + 8u + w]);
    s.z += dot(bytes_minus_32(((a >> 4) & 0x0f0f0f0fu) | (h & 0x30303030u)), x4[xv + 16u + w]);
    s.w += dot(bytes_minus_32(((b >> 4) & 0x0f0f0f0fu) | ((h >> 2) & 0x30303030u)), x4[xv + 24u + w]);
  }
  // int8 scales k, k + 2 (word 0) and k + 4, k + 6 (word 1), k = l0 / 16; shifts, no dynamic indexing.
  const uint k8 = 8u * (l0 / 16u);
  const vec4 sc = vec4(ivec4(uvec4(r.sc.x << (24u - k8), r.sc.x << (8u - k8), r.sc.y << (24u - k8),
                                   r.sc.y << (8u - k8))) >> 24);
  return r.d * dot(sc, s);
}

#include "slice.glsl"

void main() {
  const uint lane = slice_lane(), slice = slice_index();
  const uint row = group_x() * ROWS + slice;
  const uint token = gl_WorkGroupID.y;
  float acc = 0.0;
  if (row < p.rows) {
    const uint part = lane % 8u, hf = part / 4u, l0 = 8u * (part % 4u);
    const uint row_byte = p.w_offset + row * p.row_bytes;
    const uint xbase = (token * p.cols + 128u * hf + l0) / 4u;
    const uint blocks = p.cols / 256u;
    uint b = lane / 8u;
    for (; b + 4u < blocks; b += 8u) {
      const Loads r0 = load_block(row_byte + 210u * b, hf, l0);
      const Loads r1 = load_block(row_byte + 210u * (b + 4u), hf, l0);
      acc += block_dot(r0, l0, xbase + 64u * b);
      acc += block_dot(r1, l0, xbase + 64u * (b + 4u));
    }
    if (b < blocks) acc += block_dot(load_block(row_byte + 210u * b, hf, l0), l0, xbase + 64u * b);
  }
  const float total = slice_sum(acc);
  if (lane == 0u && row < p.rows) y[token * p.rows + row] = total;
}
