#include "kernels/matmul.h"

#include <algorithm>
#include <array>
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

// Below this many tokens the calling thread quantizes the activations itself: a decode step's 2048-8192 values
// take ~1 us, less than waking the pool for it.
constexpr int64_t kQuantizeInlineTokens = 4;

// Quantizes x (n_tokens x cols) into this thread's scratch for weight types multiplied with act_block blocks and
// points job's xq/xd/xbsums at it. Valid until the next call on this thread.
void quantize_into_scratch(detail::MatmulJob& job, ThreadPool* pool) {
  thread_local ActivationScratch scratch;
  const auto n = static_cast<size_t>(job.n_tokens * job.cols);
  if (scratch.qs.size() < n) scratch.qs.resize(n);
  if (scratch.d.size() < n / 32) scratch.d.resize(n / 32);
  if (scratch.bsums.size() < n / 16) scratch.bsums.resize(n / 16);
  int8_t* qs = scratch.qs.data();
  float* d = scratch.d.data();
  int16_t* bsums = job.act_block == 256 ? scratch.bsums.data() : nullptr;
  if (job.n_tokens < kQuantizeInlineTokens) {
    detail::quantize_activations(job, qs, d, bsums, 0, job.n_tokens);
  } else {
    run_split(static_cast<size_t>(job.n_tokens), pool, [&](size_t t0, size_t t1) {
      detail::quantize_activations(job, qs, d, bsums, static_cast<int64_t>(t0), static_cast<int64_t>(t1));
    });
  }
  job.xq = qs;
  job.xd = d;
  job.xbsums = bsums;
}

detail::MatmulJob make_job(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
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
  return job;
}

// Most matrices matmul_multi fuses into one parallel_for (q/k/v: 3); more fall back to one call each.
constexpr size_t kMaxFused = 4;

// Runs the row kernels of several jobs over the pool in one parallel_for. The work is cut into equal shares of
// weight bytes (rows of different types cost different bytes), each thread taking the rows of its share.
void run_rows(std::span<const detail::MatmulJob> jobs, ThreadPool* pool) {
  uint64_t total = 0;
  for (const auto& j : jobs) total += j.row_bytes * static_cast<uint64_t>(j.rows);
  const size_t n_threads = pool == nullptr ? 1 : static_cast<size_t>(pool->size());
  int64_t total_rows = 0;
  for (const auto& j : jobs) total_rows += j.rows;
  const size_t shares = std::min<size_t>(n_threads, static_cast<size_t>(total_rows));
  // Share s covers the bytes [s * total / shares, (s + 1) * total / shares) of the jobs' weights laid end to end.
  auto run_share = [&](size_t s) {
    const uint64_t lo = total * s / shares, hi = total * (s + 1) / shares;
    uint64_t base = 0;
    for (const auto& j : jobs) {
      const uint64_t bytes = j.row_bytes * static_cast<uint64_t>(j.rows);
      // Row r belongs to the share holding its first byte.
      const auto first_row = [&](uint64_t at) {
        if (at <= base) return int64_t{0};
        if (at >= base + bytes) return j.rows;
        return static_cast<int64_t>((at - base + j.row_bytes - 1) / j.row_bytes);
      };
      const int64_t r0 = first_row(lo), r1 = first_row(hi);
      if (r0 < r1) detail::matmul_rows(j, r0, r1);
      base += bytes;
    }
  };
  if (shares <= 1) {
    run_share(0);
    return;
  }
  pool->parallel_for(shares, [&](int, size_t begin, size_t end) {
    for (size_t s = begin; s < end; ++s) run_share(s);
  });
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
  const MatmulOutput one{w, y};
  matmul_multi(std::span<const MatmulOutput>(&one, 1), x, n_tokens, pool);
}

void matmul_multi(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens, ThreadPool* pool) {
  if (outputs.empty()) return;
  int act_block = 0;
  bool mixed_blocks = false;
  for (const auto& o : outputs) {
    check_matrix(o.w, n_tokens);
    if (o.y == nullptr) fail("matmul: no output buffer");
    if (o.w.cols != outputs[0].w.cols)
      fail("matmul_multi: matrices have different row lengths (", outputs[0].w.cols, ", ", o.w.cols, ")");
    const int b = detail::activation_block(o.w.dtype);
    if (b != 0 && act_block != 0 && b != act_block) mixed_blocks = true;
    if (b != 0) act_block = b;
  }
  if (n_tokens == 0) return;
  if (mixed_blocks || outputs.size() > kMaxFused) {
    // Different activation blockings (Q8_0 with Q4_K) need separate quantizations: one call each.
    for (const auto& o : outputs) matmul_multi(std::span<const MatmulOutput>(&o, 1), x, n_tokens, pool);
    return;
  }
  std::array<detail::MatmulJob, kMaxFused> jobs;
  for (size_t i = 0; i < outputs.size(); ++i) jobs[i] = make_job(outputs[i].w, x, n_tokens, outputs[i].y);
  if (act_block != 0) {
    detail::MatmulJob quant_job = make_job(outputs[0].w, x, n_tokens, nullptr);
    quant_job.act_block = act_block;
    quantize_into_scratch(quant_job, pool);
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (jobs[i].act_block == 0) continue;
      jobs[i].xq = quant_job.xq;
      jobs[i].xd = quant_job.xd;
      jobs[i].xbsums = quant_job.xbsums;
    }
  }
  run_rows(std::span<const detail::MatmulJob>(jobs.data(), outputs.size()), pool);
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
