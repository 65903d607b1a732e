#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "base/error.h"
#include "kernels/matmul_job.h"
#include "quant/quant.h"

namespace unicorn::kernels {
namespace {

// Per calling thread: the int8 activation blocks of the current call, reused (grown only) across calls.
struct ActivationScratch {
  std::vector<int8_t> qs;
  std::vector<float> d;
  std::vector<int16_t> bsums;
};

void check_matrix(const WeightMatrix& w, int64_t n_tokens) {
  if (!matmul_supports(w.dtype)) fail("matmul: unsupported weight type ", dtype_name(w.dtype));
  if (w.rows <= 0 || w.cols <= 0) fail("matmul: empty weight matrix [", w.rows, ", ", w.cols, "]");
  const uint32_t block = dtype_traits(w.dtype).block_elems;
  if (w.cols % block != 0)
    fail("matmul: ", dtype_name(w.dtype), " row length ", w.cols, " is not a multiple of its block size ", block);
  if (w.data == nullptr) fail("matmul: weight matrix has no data");
  if (n_tokens < 0) fail("matmul: negative token count ", n_tokens);
}

template <typename Fn>
void run_split(size_t n, ThreadPool* pool, Fn&& fn) {
  if (pool == nullptr || pool->size() == 1 || n < 2) {
    fn(size_t{0}, n);
    return;
  }
  pool->parallel_for(n, [&](int, size_t begin, size_t end) { fn(begin, end); });
}

}  // namespace

bool matmul_supports(DType t) { return quant::is_supported(t); }

WeightMatrix as_weight_matrix(const TensorView& w) {
  const Error::Context ctx{"", w.name, "shape"};
  if (w.shape.empty()) fail_in(ctx, "matmul needs a matrix, got a scalar");
  for (int64_t d : w.shape)
    if (d <= 0) fail_in(ctx, "matmul needs a non-empty matrix");
  if (!matmul_supports(w.dtype)) fail_in({"", w.name, "dtype"}, "matmul: unsupported weight type ", dtype_name(w.dtype));
  WeightMatrix m{w.dtype, w.data, w.rows(), w.cols()};
  const uint32_t block = dtype_traits(w.dtype).block_elems;
  if (m.cols % block != 0)
    fail_in(ctx, dtype_name(w.dtype), " row length ", m.cols, " is not a multiple of its block size ", block);
  const uint64_t need = dtype_row_bytes(w.dtype, static_cast<uint64_t>(m.cols)) * static_cast<uint64_t>(m.rows);
  if (w.nbytes < need) fail_in({"", w.name, "nbytes"}, "tensor has ", w.nbytes, " bytes, its shape needs ", need);
  if (w.data == nullptr) fail_in({"", w.name, "data"}, "tensor has no data");
  return m;
}

void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
  matmul(as_weight_matrix(w), x, n_tokens, y, pool);
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
  check_matrix(w, n_tokens);
  if (n_tokens == 0) return;
  detail::MatmulJob job;
  job.dtype = w.dtype;
  job.w = w.data;
  job.row_bytes = dtype_row_bytes(w.dtype, static_cast<uint64_t>(w.cols));
  job.rows = w.rows;
  job.cols = w.cols;
  job.n_tokens = n_tokens;
  job.x = x;
  job.y = y;
  job.act_block = detail::activation_block(w.dtype);
  if (job.act_block != 0) {
    thread_local ActivationScratch scratch;
    const auto n = static_cast<size_t>(n_tokens * w.cols);
    if (scratch.qs.size() < n) scratch.qs.resize(n);
    if (scratch.d.size() < n / 32) scratch.d.resize(n / 32);
    const bool k_quant = job.act_block == 256;
    if (k_quant && scratch.bsums.size() < n / 16) scratch.bsums.resize(n / 16);
    int8_t* qs = scratch.qs.data();
    float* d = scratch.d.data();
    int16_t* bsums = k_quant ? scratch.bsums.data() : nullptr;
    run_split(static_cast<size_t>(n_tokens), pool, [&](size_t t0, size_t t1) {
      detail::quantize_activations(job, qs, d, bsums, static_cast<int64_t>(t0), static_cast<int64_t>(t1));
    });
    job.xq = qs;
    job.xd = d;
    job.xbsums = bsums;
  }
  run_split(static_cast<size_t>(w.rows), pool, [&](size_t r0, size_t r1) {
    detail::matmul_rows(job, static_cast<int64_t>(r0), static_cast<int64_t>(r1));
  });
}

void matmul_reference(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
  matmul_reference(as_weight_matrix(w), x, n_tokens, y, pool);
}

void matmul_reference(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
  check_matrix(w, n_tokens);
  const uint64_t row_bytes = dtype_row_bytes(w.dtype, static_cast<uint64_t>(w.cols));
  run_split(static_cast<size_t>(w.rows), pool, [&](size_t r0, size_t r1) {
    std::vector<float> row(static_cast<size_t>(w.cols));
    for (size_t r = r0; r < r1; ++r) {
      quant::dequantize_row(w.dtype, w.data + r * row_bytes, row.data(), w.cols);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * w.cols;
        double s = 0.0;
        for (int64_t c = 0; c < w.cols; ++c) s += static_cast<double>(row[c]) * xt[c];
        y[t * w.rows + static_cast<int64_t>(r)] = static_cast<float>(s);
      }
    }
  });
}

}  // namespace unicorn::kernels
