#pragma once
// Internal to kernels/: one matmul call as the per-CPU-target row kernels see it.
#include <cstdint>

#include "base/dtype.h"

namespace unicorn::kernels::detail {

// Everything a row kernel needs; built once per matmul call, read-only while threads run.
struct MatmulJob {
  DType dtype = DType::F32;
  const uint8_t* w = nullptr;  // rows * row_bytes bytes
  uint64_t row_bytes = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t n_tokens = 0;
  const float* x = nullptr;  // [n_tokens, cols] float activations
  // Activations quantized to int8 blocks (quantized weight types only); token t's data starts at
  // xq + t * cols, xd + t * (cols / act_block), xbsums + t * (cols / 16).
  int act_block = 0;              // 32 (Q4_0, Q8_0) or 256 (K-quants)
  const int8_t* xq = nullptr;
  const float* xd = nullptr;
  const int16_t* xbsums = nullptr;  // K-quants only: sums of each 16 consecutive xq
  float* y = nullptr;  // [n_tokens, rows]
};

// Block size of the int8 activation form a weight type is multiplied with; 0 for float weight types.
inline int activation_block(DType t) {
  switch (t) {
    case DType::Q4_0:
    case DType::Q8_0:
      return 32;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return 256;
    default:
      return 0;
  }
}

// Computes y for output rows [r0, r1) and all tokens (best SIMD target of this CPU).
void matmul_rows(const MatmulJob& job, int64_t r0, int64_t r1);
// Quantizes tokens [t0, t1) of job.x into the job's xq/xd/xbsums arrays (cast away const: they are the
// caller's scratch).
void quantize_activations(const MatmulJob& job, int8_t* xq, float* xd, int16_t* xbsums, int64_t t0, int64_t t1);
// Name of the SIMD target matmul_rows dispatches to on this CPU (for benchmarks and logs).
const char* matmul_target_name();

}  // namespace unicorn::kernels::detail
