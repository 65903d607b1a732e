// Block dequantizers. The float operations (and their order) follow GGML's reference dequantizers exactly, so the
// results are bit-identical to llama.cpp's dequantize_row_* for the same blocks.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/half.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace unicorn::quant {
namespace {

void check_count(DType t, int64_t n) {
  if (n < 0) fail("negative element count ", n, " for ", dtype_name(t));
  const int64_t block = dtype_traits(t).block_elems;
  if (n % block != 0) fail(n, " elements is not a multiple of the ", dtype_name(t), " block size ", block);
}

void dequant_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK4_0) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int lo = (b[i].qs[j] & 0x0F) - 8;
      const int hi = (b[i].qs[j] >> 4) - 8;
      y[j] = lo * d;
      y[j + kQK4_0 / 2] = hi * d;
    }
  }
}

void dequant_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK8_0) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK8_0; ++j) y[j] = b[i].qs[j] * d;
  }
}

void dequant_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    const float dmin = f16_to_f32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int chunk = 0; chunk < 4; ++chunk, q += 32) {
      uint8_t sc, m;
      k_scale_min(2 * chunk, b[i].scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      k_scale_min(2 * chunk + 1, b[i].scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequant_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    const float dmin = f16_to_f32(b[i].dmin);
    const uint8_t* ql = b[i].qs;
    const uint8_t* qh = b[i].qh;
    for (int chunk = 0; chunk < 4; ++chunk, ql += 32) {
      const uint8_t bit_lo = uint8_t(1u << (2 * chunk));
      const uint8_t bit_hi = uint8_t(2u << (2 * chunk));
      uint8_t sc, m;
      k_scale_min(2 * chunk, b[i].scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      k_scale_min(2 * chunk + 1, b[i].scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & bit_lo ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & bit_hi ? 16 : 0)) - m2;
    }
  }
}

void dequant_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * sc[s + 0] * q1;
        y[l + 32] = d * sc[s + 2] * q2;
        y[l + 64] = d * sc[s + 4] * q3;
        y[l + 96] = d * sc[s + 6] * q4;
      }
    }
  }
}

}  // namespace

bool is_supported(DType t) {
  switch (t) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q4_0:
    case DType::Q8_0:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  check_count(t, n);
  const int64_t nb = n / dtype_traits(t).block_elems;
  switch (t) {
    case DType::F32:
      std::memcpy(dst, src, size_t(n) * sizeof(float));
      return;
    case DType::F16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    }
    case DType::BF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    case DType::Q4_0: return dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case DType::Q8_0: return dequant_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case DType::Q4_K: return dequant_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb);
    case DType::Q5_K: return dequant_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb);
    case DType::Q6_K: return dequant_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
    default:
      fail("cannot dequantize type ", dtype_name(t));
  }
}

float dot_reference(DType t, const void* row, const float* x, int64_t n) {
  check_count(t, n);
  const int64_t block = dtype_traits(t).block_elems;
  const uint64_t block_bytes = dtype_traits(t).block_bytes;
  const auto* bytes = static_cast<const uint8_t*>(row);
  // One block at a time, so the scratch stays on the stack for any n.
  float buf[kQK_K];
  double acc = 0.0;
  for (int64_t i = 0; i < n;) {
    const int64_t len = block == 1 ? std::min<int64_t>(kQK_K, n - i) : block;
    dequantize_row(t, bytes + uint64_t(i / block) * block_bytes, buf, len);
    for (int64_t j = 0; j < len; ++j) acc += double(buf[j]) * double(x[i + j]);
    i += len;
  }
  return float(acc);
}

}  // namespace unicorn::quant
