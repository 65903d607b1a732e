#pragma once
// Matrix-vector / matrix-matrix products of a stored weight matrix with float activations, on the CPU.
#include <cstdint>
#include <span>

#include "base/dtype.h"
#include "base/thread_pool.h"
#include "formats/tensor.h"

namespace unicorn::kernels {

// A row-major [rows, cols] weight matrix in its stored type; non-owning, trivially copyable.
// Row r starts at data + r * dtype_row_bytes(dtype, cols).
struct WeightMatrix {
  DType dtype = DType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

// Views a 2-D (or higher: leading dims folded into rows) tensor as a weight matrix; throws Error naming the
// tensor when its byte size does not match its shape and type.
WeightMatrix as_weight_matrix(const TensorView& w);

// Weight types the matmuls accept (F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K).
bool matmul_supports(DType t);

// y[t*rows + r] = sum_c W[r, c] * x[t*cols + c] for t < n_tokens, r < rows.
// x holds n_tokens rows of cols floats, y n_tokens rows of rows floats (y must not alias x).
// Quantized weights are multiplied with activations quantized to int8 blocks (32 values per scale for Q4_0/Q8_0,
// 256 with per-16 sums for the K-quants) like llama.cpp: each x moves by at most half a step max|x_block| / 127,
// so |y - matmul_reference| <= sum_c |W[r,c]| * max|x_block(c)| / 254 plus float rounding (tests/kernels check
// this bound; typically ~1e-3 of sum_c |W[r,c] x[c]|). Float weights (F32/F16/BF16) use float x directly and
// differ only by float summation order.
// pool may be null (runs on the calling thread). Threads split output rows. Throws Error for unsupported types
// or shapes. Not reentrant per pool (ThreadPool::parallel_for is not).
void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool);
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool);

// One weight matrix and where its product goes; non-owning.
struct MatmulOutput {
  WeightMatrix w;
  float* y = nullptr;  // [n_tokens, w.rows]
};

// matmul for several weight matrices that share the input x (same cols), e.g. the q/k/v or gate/up projections
// of a layer: x is quantized once and all rows of all matrices are split over the pool in one parallel_for
// (one wake-up instead of one per matrix), balanced by weight bytes. Same results and bound as matmul.
void matmul_multi(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens, ThreadPool* pool);

// Plain scalar version: dequantizes each weight row to float with quant::dequantize_row and sums in double.
// Slow; kept as the reference the tests compare matmul against.
void matmul_reference(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool);
void matmul_reference(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool);

}  // namespace unicorn::kernels
