// Row kernels of the matmuls, compiled once per SIMD target by Highway (foreach_target) and picked at run time.
// Float weights use Highway's portable ops. Quantized weights on x86 targets with AVX2 (AVX2 itself and the
// AVX-512 targets, which include it) use integer dot products of the int8 activation blocks with the weight
// nibbles (vpmaddubsw + vpmaddwd, i.e. u8 x i8 -> i32), written with intrinsics because Highway 1.0.3 has no
// u8 x i8 multiply-add; other targets dequantize a weight row to float and use the float path.
//
// On AVX3_DL (AVX-512 with VNNI: Intel Ice Lake and later, AMD Zen 4/5) the K-quants use 512-bit kernels with
// vpdpwssd (i16 x i16 pair sums accumulated into i32 in one instruction) after vpmaddubsw, which halves the
// instructions per weight of the AVX2 kernels, and Q8_0/Q4_0 use 256-bit vpdpbusd. Prefill is bound by these
// instructions; so is decode on few cores wherever the row kernels run slower than DRAM delivers.
// Highway 1.0.3 compiles AVX3_DL only when asked (HWY_WANT_AVX3_DL in hwy_targets.h) and its target string lacks
// avx512vnni, which we add with a pragma for that target only. Highway dispatches to AVX3_DL only on CPUs whose
// CPUID reports AVX512_VNNI (with VBMI/VBMI2/VAES/...), so CPUs without it never run that code.
//
// Tiling: a kernel call computes one weight row against T <= kMaxTile tokens, so each weight block is loaded and
// unpacked once per T tokens; prefill walks row blocks that fit in L2 and, inside, token tiles of kMaxTile.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_simd.cpp"
#include "kernels/hwy_targets.h"  // must precede the Highway headers
#include <hwy/foreach_target.h>   // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/half.h"
#include "kernels/matmul_job.h"
#include "quant/blocks.h"
#include "quant/quant.h"

#if HWY_ARCH_X86
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
#undef UNICORN_VNNI512  // foreach_target re-includes this file once per target
#if HWY_ARCH_X86 && HWY_TARGET == HWY_AVX3_DL
#define UNICORN_VNNI512 1
#pragma GCC push_options
#pragma GCC target("avx512vnni")
#endif
namespace unicorn::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using detail::MatmulJob;

// Tokens per weight-row pass. The 512-bit kernels keep 2 zmm accumulators per token, so 8 tokens still fit the 32
// registers; the AVX2 kernels have 16 ymm registers and stop at 4.
#if defined(UNICORN_VNNI512)
constexpr int kMaxTile = 8;
#else
constexpr int kMaxTile = 4;
#endif

// ---------------------------------------------------------------------------------------------------------
// Float weights: F32, F16, BF16.

template <typename D>
HWY_INLINE hn::Vec<D> LoadWeights(D df, const float* p) {
  return hn::LoadU(df, p);
}
template <typename D>
HWY_INLINE hn::Vec<D> LoadWeights(D df, const hwy::float16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::float16_t, D>(), p));
}
template <typename D>
HWY_INLINE hn::Vec<D> LoadWeights(D df, const hwy::bfloat16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::bfloat16_t, D>(), p));
}
HWY_INLINE float ScalarWeight(const float* p) { return *p; }
HWY_INLINE float ScalarWeight(const hwy::float16_t* p) {
  uint16_t b;
  std::memcpy(&b, p, 2);
  return f16_to_f32(b);
}
HWY_INLINE float ScalarWeight(const hwy::bfloat16_t* p) {
  uint16_t b;
  std::memcpy(&b, p, 2);
  return bf16_to_f32(b);
}

// out[t] = dot(w[0..n), x[t][0..n)) for t < T; U independent accumulators per token hide FMA latency.
template <int T, int U, typename WT>
HWY_INLINE void DotFloatRow(const WT* HWY_RESTRICT w, int64_t n, const float* const* x, float* out) {
  const hn::ScalableTag<float> df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  hn::Vec<decltype(df)> acc[T][U];
  for (int t = 0; t < T; ++t)
    for (int u = 0; u < U; ++u) acc[t][u] = hn::Zero(df);
  int64_t i = 0;
  for (; i + U * N <= n; i += U * N) {
    for (int u = 0; u < U; ++u) {
      const auto wv = LoadWeights(df, w + i + u * N);
      for (int t = 0; t < T; ++t) acc[t][u] = hn::MulAdd(wv, hn::LoadU(df, x[t] + i + u * N), acc[t][u]);
    }
  }
  for (; i + N <= n; i += N) {
    const auto wv = LoadWeights(df, w + i);
    for (int t = 0; t < T; ++t) acc[t][0] = hn::MulAdd(wv, hn::LoadU(df, x[t] + i), acc[t][0]);
  }
  for (int t = 0; t < T; ++t) {
    for (int u = 1; u < U; ++u) acc[t][0] = hn::Add(acc[t][0], acc[t][u]);
    float s = hn::GetLane(hn::SumOfLanes(df, acc[t][0]));
    for (int64_t j = i; j < n; ++j) s += ScalarWeight(w + j) * x[t][j];
    out[t] = s;
  }
}

template <int T, typename WT>
HWY_INLINE void DotFloatTile(const WT* w, int64_t n, const float* const* x, float* out) {
  DotFloatRow<T, (T == 1 ? 4 : 2)>(w, n, x, out);
}

// ---------------------------------------------------------------------------------------------------------
// Quantized weights with AVX2 integer dot products.

#undef UNICORN_INT8_DOT  // foreach_target re-includes this file once per target
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
#define UNICORN_INT8_DOT 1

HWY_INLINE float HSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
HWY_INLINE float Fp16(uint16_t h) { return _cvtsh_ss(h); }
HWY_INLINE __m256i LoadU256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Decode streams the weights from DRAM; asking for the bytes ~1 KiB ahead keeps them in flight while the current
// blocks are multiplied (the hardware prefetcher alone overlaps loading and multiplying only partly). Prefetches
// past the end of the matrix are harmless (they never fault).
template <int kBlockBytes>
HWY_INLINE void PrefetchAhead(const void* block) {
  const char* p = static_cast<const char*>(block) + 1024;
  for (int off = 0; off < kBlockBytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// Sum over pairs of u8 * i8 products -> 8 x i32 (each lane: 4 products). u <= 128 and |s| <= 127 keep the
// intermediate i16 pair sums below saturation.
HWY_INLINE __m256i MulSumU8I8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Signed weights w in [-128, 127] (as int8) times activations: |w| * (x with w's sign).
HWY_INLINE __m256i MulSumI8I8(__m256i w, __m256i x) {
  return MulSumU8I8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

// Q8_0 / Q4_0 weights against 32-blocks of int8 activations.
template <int T, bool kQ4>
HWY_INLINE void DotQ32(const uint8_t* row, int64_t nb, const int8_t* const* xq, const float* const* xd,
                       float* out) {
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i eight = _mm256_set1_epi8(8);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i wv;
    float dw;
    if constexpr (kQ4) {
      const auto* blk = reinterpret_cast<const quant::BlockQ4_0*>(row) + b;
      if (b % 2 == 0) PrefetchAhead<64>(blk);
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->qs));
      const __m256i nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), m4);
      wv = _mm256_sub_epi8(nib, eight);
      dw = Fp16(blk->d);
    } else {
      const auto* blk = reinterpret_cast<const quant::BlockQ8_0*>(row) + b;
      PrefetchAhead<34>(blk);
      wv = LoadU256(blk->qs);
      dw = Fp16(blk->d);
    }
    const __m256i aw = _mm256_sign_epi8(wv, wv);
    for (int t = 0; t < T; ++t) {
      const __m256i xv = LoadU256(xq[t] + b * 32);
      const __m256i p = MulSumU8I8(aw, _mm256_sign_epi8(xv, wv));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * xd[t][b]), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = HSum(acc[t]);
}

// The 8 scales and 8 mins (6 bits each) of a Q4_K/Q5_K super-block as bytes [sc0..7, mn0..7], in both 128-bit
// halves. From the packing (see quant/blocks.h), as four 32-bit groups of four bytes:
//   sc0..3 = s0..3 & 63             sc4..7 = (s8..11 & 15) | ((s0..3 >> 6) << 4)
//   mn0..3 = s4..7 & 63             mn4..7 = (s8..11 >> 4) | ((s4..7 >> 6) << 4)
// computed in vector registers (a scalar unpack costs ~20 instructions and a store-forwarding stall).
// Reads 16 bytes at s: the 12 scale bytes and 4 bytes of what follows them in the block (ignored).
HWY_INLINE __m128i UnpackKScales128(const uint8_t* s) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  // Groups [s0..3, s8..11, s4..7, s8..11] -> low parts; [0, s0..3, 0, s4..7] -> high bits.
  const __m128i lo_src = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0));
  const __m128i hi_src = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  const __m128i lo = _mm_and_si128(_mm_srlv_epi32(lo_src, _mm_setr_epi32(0, 0, 0, 4)),
                                   _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  // (b >> 6) << 4 per byte == (b & 0xC0) >> 2, which never crosses a byte inside a 32-bit shift.
  const __m128i hi = _mm_srli_epi32(_mm_and_si128(hi_src, _mm_set1_epi8(static_cast<char>(0xC0))), 2);
  return _mm_or_si128(lo, hi);
}
HWY_INLINE __m256i UnpackKScales(const uint8_t* s) { return _mm256_broadcastsi128_si256(UnpackKScales128(s)); }

// Shuffle mask: i16 lanes all = byte j of a 128-bit half, zero-extended.
HWY_INLINE __m256i BroadcastByteMask(int j) { return _mm256_set1_epi16(static_cast<int16_t>(j | 0x8000)); }

// Q4_K (kQ5 = false) / Q5_K (kQ5 = true) super-blocks against Q8_K-style activations:
// sum_j (d sc_j q - dmin m_j) . x = d dx sum_j sc_j (q . xq)_j - dmin dx sum_j m_j (bsum_2j + bsum_2j+1).
template <int T, bool kQ5>
HWY_INLINE void DotQ45K(const uint8_t* row, int64_t nb, const int8_t* const* xq, const float* const* xd,
                        const int16_t* const* bsums, float* out) {
  __m256 acc[T], acc_min[T];
  for (int t = 0; t < T; ++t) {
    acc[t] = _mm256_setzero_ps();
    acc_min[t] = _mm256_setzero_ps();
  }
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i one = _mm256_set1_epi8(1);
  // Min j (byte 8 + j) zero-extended into i16 lanes 2j, 2j+1 (mins 0..3 in the low half, 4..7 in the high half),
  // to pair with the 16 bsums of a super-block.
  const __m256i dup_mins = _mm256_setr_epi8(8, -1, 8, -1, 9, -1, 9, -1, 10, -1, 10, -1, 11, -1, 11, -1,  //
                                            12, -1, 12, -1, 13, -1, 13, -1, 14, -1, 14, -1, 15, -1, 15, -1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* qs;
    const uint8_t* scales;
    uint16_t d16, dmin16;
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kQ5) {
      const auto* blk = reinterpret_cast<const quant::BlockQ5_K*>(row) + b;
      PrefetchAhead<sizeof(quant::BlockQ5_K)>(blk);
      qs = blk->qs;
      scales = blk->scales;
      d16 = blk->d;
      dmin16 = blk->dmin;
      hbits = LoadU256(blk->qh);
    } else {
      const auto* blk = reinterpret_cast<const quant::BlockQ4_K*>(row) + b;
      PrefetchAhead<sizeof(quant::BlockQ4_K)>(blk);
      qs = blk->qs;
      scales = blk->scales;
      d16 = blk->d;
      dmin16 = blk->dmin;
    }
    const float d = Fp16(d16), dmin = Fp16(dmin16);
    const __m256i sm = UnpackKScales(scales);
    const __m256i mins = _mm256_shuffle_epi8(sm, dup_mins);
    __m256i sumi[T];
    for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = LoadU256(qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if constexpr (kQ5) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hbits, one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 1), one), 4));
        hbits = _mm256_srli_epi16(hbits, 2);
      }
      const __m256i s_lo = _mm256_shuffle_epi8(sm, BroadcastByteMask(2 * c));
      const __m256i s_hi = _mm256_shuffle_epi8(sm, BroadcastByteMask(2 * c + 1));
      for (int t = 0; t < T; ++t) {
        const int8_t* xp = xq[t] + b * 256 + c * 64;
        const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, LoadU256(xp)), s_lo);
        const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, LoadU256(xp + 32)), s_hi);
        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p_lo, p_hi));
      }
    }
    for (int t = 0; t < T; ++t) {
      const float dx = xd[t][b];
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]), _mm256_set1_ps(d * dx), acc[t]);
      const __m256i summ = _mm256_madd_epi16(mins, LoadU256(bsums[t] + b * 16));
      acc_min[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(summ), _mm256_set1_ps(dmin * dx), acc_min[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = HSum(_mm256_sub_ps(acc[t], acc_min[t]));
}

// Q6_K super-blocks against Q8_K-style activations: sum d*s*(q-32)*x = d*(sum s*q*x - 32*sum s*bsum).
template <int T>
HWY_INLINE void DotQ6K(const uint8_t* row, int64_t nb, const int8_t* const* xq, const float* const* xd,
                       const int16_t* const* bsums, float* out) {
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  // Shuffle masks: i16 lane 2k of a half into lanes 0..7, lane 2k+1 into lanes 8..15.
  __m256i pair_mask[4];
  for (int k = 0; k < 4; ++k) {
    const auto lo = static_cast<int16_t>((4 * k) | ((4 * k + 1) << 8));
    const auto hi = static_cast<int16_t>((4 * k + 2) | ((4 * k + 3) << 8));
    pair_mask[k] = _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo));
  }
  for (int64_t b = 0; b < nb; ++b) {
    const auto* blk = reinterpret_cast<const quant::BlockQ6_K*>(row) + b;
    PrefetchAhead<sizeof(quant::BlockQ6_K)>(blk);
    const float d = Fp16(blk->d);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->scales)));
    __m256i sumi[T];
    for (int t = 0; t < T; ++t) {
      // -32 * sum_g scale[g] * bsum[g], started here so the loop below only adds.
      const __m256i off = _mm256_madd_epi16(sc16, LoadU256(bsums[t] + b * 16));
      sumi[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
    }
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = LoadU256(blk->ql + 64 * h);
      const __m256i ql1 = LoadU256(blk->ql + 64 * h + 32);
      const __m256i qh = LoadU256(blk->qh + 32 * h);
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
      // Scales 8h..8h+7 in both halves; then pair k: lanes 0..7 = scale 8h+2k, lanes 8..15 = scale 8h+2k+1.
      const __m256i sh = h == 0 ? _mm256_permute4x64_epi64(sc16, 0x44) : _mm256_permute4x64_epi64(sc16, 0xEE);
      __m256i sv[4];
      for (int k = 0; k < 4; ++k) sv[k] = _mm256_shuffle_epi8(sh, pair_mask[k]);
      for (int t = 0; t < T; ++t) {
        const int8_t* xp = xq[t] + b * 256 + h * 128;
        for (int k = 0; k < 4; ++k) {
          const __m256i p = _mm256_maddubs_epi16(q[k], LoadU256(xp + 32 * k));
          sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sv[k]));
        }
      }
    }
    for (int t = 0; t < T; ++t)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t]), _mm256_set1_ps(d * xd[t][b]), acc[t]);
  }
  for (int t = 0; t < T; ++t) out[t] = HSum(acc[t]);
}


#if defined(UNICORN_VNNI512)
// ---------------------------------------------------------------------------------------------------------
// Quantized weights with AVX-512 VNNI. K-quants: 64 weights per zmm. Per 64 weights and token: vpmaddubsw (u8 weight
// x i8 activation -> i16 pair sums, at most 2 * 63 * 127 < 2^15) and vpdpwssd (i16 pair sums x i16 sub-block
// scale, added into the i32 accumulator).

HWY_INLINE float HSum512(__m512 v) {
  // Halves by shuffle, not _mm512_extract*, whose GCC 12 headers trip -Wuninitialized.
  const __m512 s = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  return HSum(_mm512_castps512_ps256(s));
}
HWY_INLINE __m512i LoadU512(const void* p) { return _mm512_loadu_si512(p); }
// i16 lanes 0..15 = a, 16..31 = b.
HWY_INLINE __m512i SplitEpi16(int16_t a, int16_t b) {
  return _mm512_inserti64x4(_mm512_set1_epi16(a), _mm256_set1_epi16(b), 1);
}
constexpr int kTernaryAndOr = 0xEA;  // vpternlog immediate for (a & b) | c

// 256-bit vpdpbusd in its EVEX (AVX512_VNNI + VL) encoding. Highway 1.0.3's AVX3_DL target string also enables
// avxvnni, with which GCC emits the VEX form ({vex} vpdpbusd) for the intrinsic: an illegal instruction on CPUs with
// AVX-512 VNNI but no AVX-VNNI (AMD Zen 4). The functions must keep that target string (they inline Highway's
// ops), so the instruction is written out.
HWY_INLINE __m256i DpbusdEvex256(__m256i acc, __m256i a, __m256i b) {
  __asm__("%{evex%} vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

// Q8_0 / Q4_0 (32-weight blocks, one scale each) with 256-bit vpdpbusd: |w| (u8) times x carrying w's sign,
// summed 4 at a time into i32 in one instruction (AVX-512 has no vpsignb; a mask from the sign bits negates x).
template <int T, bool kQ4>
HWY_INLINE void DotQ32Vnni(const uint8_t* row, int64_t nb, const int8_t* const* xq, const float* const* xd,
                           float* out) {
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i eight = _mm256_set1_epi8(8);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i wv;
    float dw;
    if constexpr (kQ4) {
      const auto* blk = reinterpret_cast<const quant::BlockQ4_0*>(row) + b;
      if (b % 2 == 0) PrefetchAhead<64>(blk);
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->qs));
      wv = _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), m4), eight);
      dw = Fp16(blk->d);
    } else {
      const auto* blk = reinterpret_cast<const quant::BlockQ8_0*>(row) + b;
      PrefetchAhead<34>(blk);
      wv = LoadU256(blk->qs);
      dw = Fp16(blk->d);
    }
    const __mmask32 negative = _mm256_movepi8_mask(wv);
    const __m256i aw = _mm256_abs_epi8(wv);  // -128 becomes 128, exact as u8
    for (int t = 0; t < T; ++t) {
      const __m256i xv = LoadU256(xq[t] + b * 32);
      const __m256i sx = _mm256_mask_sub_epi8(xv, negative, _mm256_setzero_si256(), xv);
      const __m256i p = DpbusdEvex256(_mm256_setzero_si256(), aw, sx);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * xd[t][b]), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = HSum(acc[t]);
}

// Q4_K (kQ5 = false) / Q5_K (kQ5 = true), same algebra as DotQ45K. Chunk c (32 bytes of nibbles) is broadcast
// to both 256-bit halves and shifted by 0 / 4 bits per half, giving elements 64c..64c+63 in order, so one
// contiguous zmm of activations pairs with it.
template <int T, bool kQ5>
HWY_INLINE void DotQ45KVnni(const uint8_t* row, int64_t nb, const int8_t* const* xq, const float* const* xd,
                            const int16_t* const* bsums, float* out) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i bit4 = _mm512_set1_epi8(0x10);
  const __m512i nibble_shift = SplitEpi16(0, 4);
  // Scale i16 lanes per chunk: sub-block 2c for the low half, 2c + 1 for the high half.
  __m512i scale_idx[4], high_bit_shift[4];
  for (int c = 0; c < 4; ++c) {
    scale_idx[c] = SplitEpi16(static_cast<int16_t>(2 * c), static_cast<int16_t>(2 * c + 1));
    high_bit_shift[c] = SplitEpi16(static_cast<int16_t>(2 * c), static_cast<int16_t>(2 * c + 1));
  }
  // Min j (i16 lane 8 + j of the unpacked scales) into lanes 2j, 2j + 1, to pair with the 16 bsums.
  const __m256i min_idx = _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* qs;
    const uint8_t* scales;
    uint16_t d16, dmin16;
    __m512i hbits = _mm512_setzero_si512();
    if constexpr (kQ5) {
      const auto* blk = reinterpret_cast<const quant::BlockQ5_K*>(row) + b;
      PrefetchAhead<sizeof(quant::BlockQ5_K)>(blk);
      qs = blk->qs;
      scales = blk->scales;
      d16 = blk->d;
      dmin16 = blk->dmin;
      hbits = _mm512_broadcast_i64x4(LoadU256(blk->qh));
    } else {
      const auto* blk = reinterpret_cast<const quant::BlockQ4_K*>(row) + b;
      PrefetchAhead<sizeof(quant::BlockQ4_K)>(blk);
      qs = blk->qs;
      scales = blk->scales;
      d16 = blk->d;
      dmin16 = blk->dmin;
    }
    const float d = Fp16(d16), dmin = Fp16(dmin16);
    const __m256i sm16 = _mm256_cvtepu8_epi16(UnpackKScales128(scales));  // [sc0..7, mn0..7] as i16
    const __m512i sm512 = _mm512_zextsi256_si512(sm16);
    const __m256i mins = _mm256_permutexvar_epi16(min_idx, sm16);
    __m512i sumi[T];
    for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const __m512i q = _mm512_broadcast_i64x4(LoadU256(qs + 32 * c));
      __m512i w = _mm512_and_si512(_mm512_srlv_epi16(q, nibble_shift), m4);
      if constexpr (kQ5) {
        // Bit 2c (low half) / 2c + 1 (high half) of each qh byte, moved to bit 4. Shifting 16-bit lanes by < 8
        // keeps each byte's bit 0 its own.
        const __m512i h = _mm512_slli_epi16(_mm512_srlv_epi16(hbits, high_bit_shift[c]), 4);
        w = _mm512_ternarylogic_epi32(h, bit4, w, kTernaryAndOr);
      }
      const __m512i sc = _mm512_permutexvar_epi16(scale_idx[c], sm512);
      for (int t = 0; t < T; ++t) {
        const __m512i p = _mm512_maddubs_epi16(w, LoadU512(xq[t] + b * 256 + c * 64));
        sumi[t] = _mm512_dpwssd_epi32(sumi[t], p, sc);
      }
    }
    // (d * sums - dmin * min sums) * dx per token: d and dmin are broadcast once per block, dx is a broadcast
    // load; at 8 tokens this epilogue costs as much as the dot products, so it is kept to 5 vector ops.
    const __m512 dv = _mm512_set1_ps(d), dminv = _mm512_set1_ps(dmin);
    for (int t = 0; t < T; ++t) {
      const __m256i summ = _mm256_madd_epi16(mins, LoadU256(bsums[t] + b * 16));
      const __m512 f = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(summ)), dminv,
                                        _mm512_mul_ps(_mm512_cvtepi32_ps(sumi[t]), dv));
      acc[t] = _mm512_fmadd_ps(f, _mm512_set1_ps(xd[t][b]), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = HSum512(acc[t]);
}

// Q6_K, same algebra as DotQ6K. Half h: one zmm of ql gives elements 128h + 0..63 (low nibbles) and
// 128h + 64..127 (high nibbles); the two high bits come from qh broadcast to both 256-bit halves and shifted per
// half. The -32 offset starts each block's accumulator: -32 * sum_g scale[g] * bsum[g].
template <int T>
HWY_INLINE void DotQ6KVnni(const uint8_t* row, int64_t nb, const int8_t* const* xq, const float* const* xd,
                           const int16_t* const* bsums, float* out) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i m30 = _mm512_set1_epi8(0x30);
  const __m512i low_bits_shift = SplitEpi16(4, 2);   // qh bits 0-1 / 2-3 to bits 4-5 (left shift)
  const __m512i high_bits_shift = SplitEpi16(0, 2);  // qh bits 4-5 / 6-7 to bits 4-5 (right shift)
  // Scale i16 lanes for the 64 elements 64k..64k+63 of the block: 8 lanes (16 elements) per sub-block 4k + i.
  __m512i scale_idx[4];
  for (int k = 0; k < 4; ++k) {
    alignas(64) int16_t idx[32];
    for (int i = 0; i < 32; ++i) idx[i] = static_cast<int16_t>(4 * k + i / 8);
    scale_idx[k] = _mm512_load_si512(idx);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const auto* blk = reinterpret_cast<const quant::BlockQ6_K*>(row) + b;
    PrefetchAhead<sizeof(quant::BlockQ6_K)>(blk);
    const float d = Fp16(blk->d);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->scales)));
    const __m512i sc512 = _mm512_zextsi256_si512(sc16);
    const __m512i off_scale =
        _mm512_zextsi256_si512(_mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5)));
    __m512i sumi[T];
    for (int t = 0; t < T; ++t)
      sumi[t] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(LoadU256(bsums[t] + b * 16)),
                                    off_scale);
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = LoadU512(blk->ql + 64 * h);
      const __m512i qh = _mm512_broadcast_i64x4(LoadU256(blk->qh + 32 * h));
      const __m512i q0 = _mm512_ternarylogic_epi32(ql, m4, _mm512_and_si512(_mm512_sllv_epi16(qh, low_bits_shift), m30),
                                                   kTernaryAndOr);
      const __m512i q1 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), m4,
                                                   _mm512_and_si512(_mm512_srlv_epi16(qh, high_bits_shift), m30),
                                                   kTernaryAndOr);
      const __m512i s0 = _mm512_permutexvar_epi16(scale_idx[2 * h], sc512);
      const __m512i s1 = _mm512_permutexvar_epi16(scale_idx[2 * h + 1], sc512);
      for (int t = 0; t < T; ++t) {
        const int8_t* xp = xq[t] + b * 256 + h * 128;
        sumi[t] = _mm512_dpwssd_epi32(sumi[t], _mm512_maddubs_epi16(q0, LoadU512(xp)), s0);
        sumi[t] = _mm512_dpwssd_epi32(sumi[t], _mm512_maddubs_epi16(q1, LoadU512(xp + 64)), s1);
      }
    }
    const __m512 dv = _mm512_set1_ps(d);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(sumi[t]), dv), _mm512_set1_ps(xd[t][b]), acc[t]);
  }
  for (int t = 0; t < T; ++t) out[t] = HSum512(acc[t]);
}
#endif  // UNICORN_VNNI512
#endif  // HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2

// ---------------------------------------------------------------------------------------------------------
// Row/token loops.

// Computes rows [r0, r1) x tokens [t0, t0 + T) with the tile kernel for the job's type.
template <int T>
HWY_INLINE void RowsTile(const MatmulJob& job, int64_t r0, int64_t r1, int64_t t0) {
  float out[kMaxTile] = {};
  const int64_t cols = job.cols;
  const float* x[kMaxTile];
  for (int t = 0; t < T; ++t) x[t] = job.x + (t0 + t) * cols;
#if defined(UNICORN_INT8_DOT)
  const int8_t* xq[kMaxTile] = {};
  const float* xd[kMaxTile] = {};
  const int16_t* bs[kMaxTile] = {};
  if (job.act_block != 0) {
    for (int t = 0; t < T; ++t) {
      xq[t] = job.xq + (t0 + t) * cols;
      xd[t] = job.xd + (t0 + t) * (cols / job.act_block);
      if (job.xbsums != nullptr) bs[t] = job.xbsums + (t0 + t) * (cols / 16);
    }
  }
#else
  thread_local std::vector<float> deq;
  if (job.act_block != 0 && static_cast<int64_t>(deq.size()) < cols) deq.resize(static_cast<size_t>(cols));
#endif
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = job.w + static_cast<uint64_t>(r) * job.row_bytes;
    switch (job.dtype) {
      case DType::F32:
        DotFloatTile<T>(reinterpret_cast<const float*>(row), cols, x, out);
        break;
      case DType::F16:
        DotFloatTile<T>(reinterpret_cast<const hwy::float16_t*>(row), cols, x, out);
        break;
      case DType::BF16:
        DotFloatTile<T>(reinterpret_cast<const hwy::bfloat16_t*>(row), cols, x, out);
        break;
      default:
#if defined(UNICORN_INT8_DOT)
        switch (job.dtype) {
#if defined(UNICORN_VNNI512)
          case DType::Q4_0:
            DotQ32Vnni<T, true>(row, cols / 32, xq, xd, out);
            break;
          case DType::Q8_0:
            DotQ32Vnni<T, false>(row, cols / 32, xq, xd, out);
            break;
          case DType::Q4_K:
            DotQ45KVnni<T, false>(row, cols / 256, xq, xd, bs, out);
            break;
          case DType::Q5_K:
            DotQ45KVnni<T, true>(row, cols / 256, xq, xd, bs, out);
            break;
          case DType::Q6_K:
            DotQ6KVnni<T>(row, cols / 256, xq, xd, bs, out);
            break;
#else
          case DType::Q4_0:
            DotQ32<T, true>(row, cols / 32, xq, xd, out);
            break;
          case DType::Q8_0:
            DotQ32<T, false>(row, cols / 32, xq, xd, out);
            break;
          case DType::Q4_K:
            DotQ45K<T, false>(row, cols / 256, xq, xd, bs, out);
            break;
          case DType::Q5_K:
            DotQ45K<T, true>(row, cols / 256, xq, xd, bs, out);
            break;
          case DType::Q6_K:
            DotQ6K<T>(row, cols / 256, xq, xd, bs, out);
            break;
#endif
          default:
            break;  // rejected by matmul() before dispatch
        }
#else
        quant::dequantize_row(job.dtype, row, deq.data(), cols);
        DotFloatTile<T>(deq.data(), cols, x, out);
#endif
        break;
    }
    for (int t = 0; t < T; ++t) job.y[(t0 + t) * job.rows + r] = out[t];
  }
}

void MatmulRowsImpl(const MatmulJob& job, int64_t r0, int64_t r1) {
  // Rows per block: about 256 KiB of weights, so a block stays in L2 while every token tile passes over it.
  const int64_t block_rows =
      job.n_tokens <= kMaxTile ? (r1 - r0)
                               : std::max<int64_t>(1, static_cast<int64_t>((256u << 10) / std::max<uint64_t>(1, job.row_bytes)));
  for (int64_t rb = r0; rb < r1; rb += block_rows) {
    const int64_t re = std::min(r1, rb + block_rows);
    int64_t t = 0;
    for (; t + kMaxTile <= job.n_tokens; t += kMaxTile) RowsTile<kMaxTile>(job, rb, re, t);
    switch (job.n_tokens - t) {
#if defined(UNICORN_VNNI512)
      case 7:
        RowsTile<7>(job, rb, re, t);
        break;
      case 6:
        RowsTile<6>(job, rb, re, t);
        break;
      case 5:
        RowsTile<5>(job, rb, re, t);
        break;
      case 4:
        RowsTile<4>(job, rb, re, t);
        break;
#endif
      case 3:
        RowsTile<3>(job, rb, re, t);
        break;
      case 2:
        RowsTile<2>(job, rb, re, t);
        break;
      case 1:
        RowsTile<1>(job, rb, re, t);
        break;
      default:
        break;
    }
  }
}

// Symmetric int8 quantization of activation blocks: d = max|x| / 127, q = round(x / d).
void QuantizeActivationsImpl(const MatmulJob& job, int8_t* xq, float* xd, int16_t* xbsums, int64_t t0, int64_t t1) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<int32_t, decltype(df)> di32;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const int64_t cols = job.cols;
  const int blk = job.act_block;
  const bool vec_ok = blk % N == 0;
  for (int64_t t = t0; t < t1; ++t) {
    const float* x = job.x + t * cols;
    int8_t* q = xq + t * cols;
    float* d = xd + t * (cols / blk);
    for (int64_t b = 0; b < cols / blk; ++b) {
      const float* xb = x + b * blk;
      int8_t* qb = q + b * blk;
      float amax = 0.0f;
      if (vec_ok) {
        auto m = hn::Zero(df);
        for (int i = 0; i < blk; i += N) m = hn::Max(m, hn::Abs(hn::LoadU(df, xb + i)));
        amax = hn::GetLane(hn::MaxOfLanes(df, m));
      } else {
        for (int i = 0; i < blk; ++i) amax = std::max(amax, std::fabs(xb[i]));
      }
      const float scale = amax / 127.0f;
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      d[b] = scale;
      if (vec_ok) {
        const auto vinv = hn::Set(df, inv);
        alignas(64) int32_t tmp[HWY_MAX_BYTES / 4];
        for (int i = 0; i < blk; i += N) {
          hn::Store(hn::NearestInt(hn::Mul(hn::LoadU(df, xb + i), vinv)), di32, tmp);
          for (int64_t k = 0; k < N; ++k) qb[i + k] = static_cast<int8_t>(tmp[k]);
        }
      } else {
        for (int i = 0; i < blk; ++i) qb[i] = static_cast<int8_t>(std::lrint(xb[i] * inv));
      }
    }
    if (xbsums != nullptr) {
      int16_t* s = xbsums + t * (cols / 16);
      for (int64_t g = 0; g < cols / 16; ++g) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += q[g * 16 + i];
        s[g] = static_cast<int16_t>(sum);
      }
    }
  }
}

const char* TargetNameImpl() { return hwy::TargetName(HWY_TARGET); }

}  // namespace unicorn::kernels::HWY_NAMESPACE
#if defined(UNICORN_VNNI512)
#pragma GCC pop_options
#endif
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace unicorn::kernels::detail {

HWY_EXPORT(MatmulRowsImpl);
HWY_EXPORT(QuantizeActivationsImpl);
HWY_EXPORT(TargetNameImpl);

void matmul_rows(const MatmulJob& job, int64_t r0, int64_t r1) { HWY_DYNAMIC_DISPATCH(MatmulRowsImpl)(job, r0, r1); }

void quantize_activations(const MatmulJob& job, int8_t* xq, float* xd, int16_t* xbsums, int64_t t0, int64_t t1) {
  HWY_DYNAMIC_DISPATCH(QuantizeActivationsImpl)(job, xq, xd, xbsums, t0, t1);
}

const char* matmul_target_name() { return HWY_DYNAMIC_DISPATCH(TargetNameImpl)(); }

}  // namespace unicorn::kernels::detail
#endif
