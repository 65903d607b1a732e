// matmul (SIMD, threaded, int8 activations for quantized weights) against matmul_reference (scalar, double sums,
// via quant::dequantize_row), for every weight type, odd shapes, several token counts and pool sizes.
//
// Error bound, per output y[t, r] with W the dequantized weights:
//  * float weights (F32/F16/BF16): |y - ref| <= (cols * 2^-23 + 1e-6) * sum_c |W[r,c] x[t,c]|  (float summation);
//  * quantized weights: the activations are rounded to int8 blocks of B (32 or 256) values with step
//    d = max|x_block| / 127, so each x moves by at most d/2:
//    |y - ref| <= 1.001 * sum_c |W[r,c]| * d(block of c) / 2 + (cols * 2^-23 + 1e-6) * sum_c |W[r,c] x[t,c]|.
#include "kernels/hwy_targets.h"  // the same SIMD target set as kernels/, before any Highway header

#include <catch2/catch.hpp>
#include <hwy/targets.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/half.h"
#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/matmul_job.h"
#include "quant/quant.h"
#include "tests/test_util.h"

using namespace unicorn;
using namespace unicorn::kernels;

namespace {

struct Matrix {
  DType type;
  int64_t rows, cols;
  std::vector<uint8_t> bytes;
  std::vector<float> deq;  // dequantized, rows * cols
  WeightMatrix view() const { return {type, bytes.data(), rows, cols}; }
};

Matrix random_matrix(DType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> src(static_cast<size_t>(rows * cols));
  for (auto& v : src) v = dist(rng);
  // A few rows with a larger spread, so the per-block scales differ a lot within the matrix.
  for (int64_t r = 0; r < rows; r += 7)
    for (int64_t c = 0; c < cols; ++c) src[r * cols + c] *= (c % 64 < 8) ? 20.0f : 0.3f;
  Matrix m{type, rows, cols, {}, {}};
  const uint64_t row_bytes = dtype_row_bytes(type, static_cast<uint64_t>(cols));
  m.bytes.resize(row_bytes * rows);
  for (int64_t r = 0; r < rows; ++r) quant::quantize_row(type, src.data() + r * cols, m.bytes.data() + r * row_bytes, cols);
  m.deq.resize(src.size());
  for (int64_t r = 0; r < rows; ++r) quant::dequantize_row(type, m.bytes.data() + r * row_bytes, m.deq.data() + r * cols, cols);
  return m;
}

std::vector<float> random_activations(int64_t n_tokens, int64_t cols, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> x(static_cast<size_t>(n_tokens * cols));
  for (auto& v : x) v = dist(rng);
  // Outliers, like the large activation channels of real models.
  for (int64_t t = 0; t < n_tokens; ++t) x[t * cols + (t * 37) % cols] = 40.0f;
  return x;
}

int act_block(DType t) {
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

// Checks every output against the reference with the bound stated at the top of this file.
void check_against_reference(const Matrix& m, const std::vector<float>& x, int64_t n_tokens, ThreadPool* pool) {
  std::vector<float> y(static_cast<size_t>(n_tokens * m.rows), NAN);
  std::vector<float> ref(y.size(), NAN);
  matmul(m.view(), x.data(), n_tokens, y.data(), pool);
  matmul_reference(m.view(), x.data(), n_tokens, ref.data(), nullptr);
  const int block = act_block(m.type);
  int failures = 0;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* xt = x.data() + t * m.cols;
    std::vector<double> half_step(static_cast<size_t>(m.cols), 0.0);
    if (block != 0) {
      for (int64_t b = 0; b < m.cols / block; ++b) {
        double amax = 0.0;
        for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(double(xt[b * block + i])));
        for (int i = 0; i < block; ++i) half_step[b * block + i] = amax / 127.0 / 2.0;
      }
    }
    for (int64_t r = 0; r < m.rows; ++r) {
      const float* w = m.deq.data() + r * m.cols;
      double mag = 0.0, quant_err = 0.0;
      for (int64_t c = 0; c < m.cols; ++c) {
        mag += std::fabs(double(w[c]) * xt[c]);
        quant_err += std::fabs(double(w[c])) * half_step[c];
      }
      const double bound = 1.001 * quant_err + (double(m.cols) * std::ldexp(1.0, -23) + 1e-6) * mag;
      const double got = y[t * m.rows + r];
      const double want = ref[t * m.rows + r];
      if (!(std::fabs(got - want) <= bound)) {
        if (++failures <= 5)
          FAIL_CHECK(dtype_name(m.type) << " [" << m.rows << "x" << m.cols << "] token " << t << " row " << r
                                        << ": got " << got << " want " << want << " bound " << bound);
      }
    }
  }
  CHECK(failures == 0);
}

const DType kAllTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q4_0,
                           DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

int64_t odd_cols(DType t) {
  const int64_t block = dtype_traits(t).block_elems;
  if (block == 1) return 421;      // not a multiple of any vector width
  if (block == 32) return 32 * 13;  // 416: not a multiple of 512
  return 256 * 3;                   // 768: not a multiple of 512
}

}  // namespace

TEST_CASE("matmul matches matmul_reference for every weight type, odd sizes, tokens and pools", "[kernels][matmul]") {
  ThreadPool pool2(2);
  // Every SIMD target compiled in and supported by this CPU (AVX2, AVX-512, portable EMU128), not only the best.
  const auto targets = hwy::SupportedAndGeneratedTargets();
  REQUIRE(!targets.empty());
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    std::mt19937 rng(1234);
    for (DType type : kAllTypes) {
      const Matrix m = random_matrix(type, 37, odd_cols(type), rng);
      // 1 (decode), every partial tile of the AVX2 (4) and AVX-512 (8) kernels, and several full tiles.
      for (int64_t n_tokens : {1, 3, 6, 17}) {
        const auto x = random_activations(n_tokens, m.cols, rng);
        INFO(hwy::TargetName(target) << " " << dtype_name(type) << " n_tokens=" << n_tokens);
        check_against_reference(m, x, n_tokens, nullptr);
        check_against_reference(m, x, n_tokens, &pool2);
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST_CASE("matmul compiles the AVX-512 VNNI kernels and runs them where the CPU has them", "[kernels][matmul]") {
  // The test above checks every compiled target; this one makes sure the VNNI target is among them (Highway 1.0.3
  // leaves AVX3_DL out unless asked) and that dispatch picks it on a CPU that supports it.
#if HWY_ARCH_X86
  CHECK((HWY_TARGETS & HWY_AVX3_DL) != 0);
  if ((hwy::SupportedTargets() & HWY_AVX3_DL) != 0) {
    CHECK(std::string(detail::matmul_target_name()) == "AVX3_DL");
  } else {
    WARN("this CPU lacks AVX-512 VNNI: the AVX3_DL kernels are compiled but not run here");
  }
#else
  SUCCEED("not x86");
#endif
}

TEST_CASE("matmul with many rows per thread crosses the prefill row blocks", "[kernels][matmul]") {
  std::mt19937 rng(99);
  ThreadPool pool1(1);
  ThreadPool pool2(2);
  for (DType type : kAllTypes) {
    const int64_t block = dtype_traits(type).block_elems;
    const int64_t cols = block == 1 ? 5121 : (block == 32 ? 32 * 161 : 256 * 21);
    const Matrix m = random_matrix(type, 301, cols, rng);
    const auto x = random_activations(9, m.cols, rng);
    INFO(dtype_name(type));
    check_against_reference(m, x, 9, &pool1);
    check_against_reference(m, x, 9, &pool2);
  }
}

TEST_CASE("matmul_multi gives exactly matmul's results for fused q/k/v and gate/up sets", "[kernels][matmul]") {
  // One quantization of x shared by all matrices, rows of all split by bytes: every output must be bit-identical
  // to a separate matmul per matrix, including sets mixing K-quant types (Q4_K_M's q/k Q4_K + v Q6_K), float with
  // quantized, and blockings that cannot share a quantization (Q8_0 with Q4_K: one call each).
  std::mt19937 rng(21);
  ThreadPool pool2(2), pool3(3);
  const std::vector<std::vector<DType>> sets = {{DType::Q4_K, DType::Q4_K, DType::Q6_K},
                                                {DType::Q4_K, DType::Q5_K},
                                                {DType::Q8_0, DType::Q4_K, DType::F16},
                                                {DType::Q4_0, DType::Q8_0, DType::BF16, DType::Q6_K, DType::F32}};
  for (const auto& set : sets) {
    std::vector<Matrix> ms;
    for (size_t i = 0; i < set.size(); ++i)
      ms.push_back(random_matrix(set[i], 29 + 40 * static_cast<int64_t>(i), 512, rng));
    for (int64_t n_tokens : {1, 5, 9}) {
      const auto x = random_activations(n_tokens, 512, rng);
      for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2, &pool3}) {
        std::vector<std::vector<float>> fused(ms.size()), single(ms.size());
        std::vector<MatmulOutput> outs;
        for (size_t i = 0; i < ms.size(); ++i) {
          fused[i].assign(static_cast<size_t>(n_tokens * ms[i].rows), NAN);
          single[i].assign(fused[i].size(), NAN);
          outs.push_back({ms[i].view(), fused[i].data()});
          matmul(ms[i].view(), x.data(), n_tokens, single[i].data(), nullptr);
        }
        matmul_multi(outs, x.data(), n_tokens, pool);
        for (size_t i = 0; i < ms.size(); ++i) {
          INFO(dtype_name(set[i]) << " in a set of " << set.size() << ", n_tokens=" << n_tokens);
          CHECK(std::memcmp(fused[i].data(), single[i].data(), fused[i].size() * sizeof(float)) == 0);
        }
      }
    }
  }
  std::vector<float> x(512), y(64);
  const Matrix a = random_matrix(DType::Q4_K, 2, 512, rng), b = random_matrix(DType::Q4_K, 2, 256, rng);
  const MatmulOutput mismatched[] = {{a.view(), y.data()}, {b.view(), y.data() + 8}};
  CHECK_THROWS_WITH(matmul_multi(mismatched, x.data(), 1, nullptr), Catch::Contains("different row lengths"));
}

TEST_CASE("matmul handles all-zero and tiny activations", "[kernels][matmul]") {
  std::mt19937 rng(7);
  for (DType type : kAllTypes) {
    const Matrix m = random_matrix(type, 5, odd_cols(type), rng);
    std::vector<float> x(static_cast<size_t>(2 * m.cols), 0.0f);
    for (int64_t c = 0; c < m.cols; c += 3) x[m.cols + c] = 1e-30f;
    std::vector<float> y(static_cast<size_t>(2 * m.rows), NAN);
    matmul(m.view(), x.data(), 2, y.data(), nullptr);
    INFO(dtype_name(type));
    for (int64_t r = 0; r < m.rows; ++r) {
      CHECK(y[r] == 0.0f);
      CHECK(std::fabs(y[m.rows + r]) < 1e-25f);
    }
  }
}

TEST_CASE("matmul of Q8_0 handles the extreme weight -128", "[kernels][matmul]") {
  // quantize_row never writes -128, but files may; |w| = 128 must not saturate the int16 pair sums.
  const int64_t cols = 64, rows = 3;
  std::vector<uint8_t> bytes(dtype_row_bytes(DType::Q8_0, cols) * rows);
  for (size_t b = 0; b < bytes.size() / 34; ++b) {
    const uint16_t d = f32_to_f16(0.5f);
    std::memcpy(&bytes[b * 34], &d, 2);
    for (int i = 0; i < 32; ++i) bytes[b * 34 + 2 + i] = static_cast<uint8_t>(i % 2 ? 0x80 : 0x7f);
  }
  std::vector<float> x(cols);
  for (int64_t c = 0; c < cols; ++c) x[c] = (c % 2) ? -1.0f : 1.0f;
  std::vector<float> y(rows), ref(rows);
  const WeightMatrix w{DType::Q8_0, bytes.data(), rows, cols};
  matmul(w, x.data(), 1, y.data(), nullptr);
  matmul_reference(w, x.data(), 1, ref.data(), nullptr);
  for (int64_t r = 0; r < rows; ++r) CHECK(y[r] == Approx(ref[r]).epsilon(1e-6));
  CHECK(ref[0] == Approx(32 * (0.5 * 127 + 0.5 * 128)));
}

TEST_CASE("matmul rejects bad matrices with clear errors", "[kernels][matmul]") {
  std::vector<uint8_t> bytes(1024);
  std::vector<float> x(256), y(16);
  CHECK_THROWS_AS(matmul(WeightMatrix{DType::I32, bytes.data(), 2, 4}, x.data(), 1, y.data(), nullptr), Error);
  CHECK_THROWS_WITH(matmul(WeightMatrix{DType::Q4_K, bytes.data(), 1, 100}, x.data(), 1, y.data(), nullptr),
                    Catch::Contains("not a multiple of its block size"));
  CHECK_THROWS_AS(matmul(WeightMatrix{DType::F32, bytes.data(), 0, 4}, x.data(), 1, y.data(), nullptr), Error);
  CHECK_THROWS_AS(matmul(WeightMatrix{DType::F32, nullptr, 2, 4}, x.data(), 1, y.data(), nullptr), Error);
  TensorView tv;
  tv.name = "blk.0.ffn_up.weight";
  tv.dtype = DType::F16;
  tv.shape = {16, 64};
  tv.data = bytes.data();
  tv.nbytes = 16 * 64 * 2 - 1;
  CHECK_THROWS_WITH(matmul(tv, x.data(), 1, y.data(), nullptr), Catch::Contains("blk.0.ffn_up.weight"));
  tv.nbytes = 16 * 64 * 2;
  std::vector<float> x64(64, 1.0f);
  CHECK_NOTHROW(matmul(tv, x64.data(), 1, y.data(), nullptr));
  CHECK_NOTHROW(matmul(tv, x64.data(), 0, y.data(), nullptr));
}

TEST_CASE("matmul_reference agrees with quant::dot_reference row by row", "[kernels][matmul]") {
  // Two independently written scalar references (double sums of the same dequantized values) must agree to float
  // rounding of the result, so the reference the fast kernels are judged by is itself checked.
  std::mt19937 rng(5);
  for (DType type : kAllTypes) {
    const Matrix m = random_matrix(type, 9, odd_cols(type), rng);
    const auto x = random_activations(2, m.cols, rng);
    std::vector<float> ref(static_cast<size_t>(2 * m.rows));
    matmul_reference(m.view(), x.data(), 2, ref.data(), nullptr);
    const uint64_t row_bytes = dtype_row_bytes(type, static_cast<uint64_t>(m.cols));
    for (int64_t t = 0; t < 2; ++t)
      for (int64_t r = 0; r < m.rows; ++r) {
        const float want = quant::dot_reference(type, m.bytes.data() + r * row_bytes, x.data() + t * m.cols, m.cols);
        INFO(dtype_name(type) << " token " << t << " row " << r);
        CHECK(ref[t * m.rows + r] == Approx(want).epsilon(1e-6).margin(1e-6));
      }
  }
}
