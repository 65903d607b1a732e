// kernels/ops.h against scalar double-precision formulas. Sizes include odd tails (n % vector width != 0).
// Tolerances: relative 2e-6 for products/sums of a few terms, 1e-5 for exp/tanh based ops, each with a small
// absolute floor (1e-6 / 1e-7) for results near zero.
#include "kernels/hwy_targets.h"  // the same SIMD target set as kernels/, before any Highway header

#include <catch2/catch.hpp>
#include <hwy/targets.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace unicorn::kernels;

namespace {

std::vector<float> random_vec(int64_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

double silu_ref(double x) { return x / (1.0 + std::exp(-x)); }
double gelu_ref(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

bool close(double got, double want, double rel, double abs) { return std::fabs(got - want) <= rel * std::fabs(want) + abs; }

const int64_t kSizes[] = {1, 7, 8, 17, 64, 100, 2049};

// Runs a check once per SIMD target compiled in and supported by this CPU (the portable one included).
template <class Fn>
void for_each_target(Fn&& fn) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    INFO("target " << hwy::TargetName(target));
    fn();
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace

TEST_CASE("rmsnorm matches the formula, with weight, Gemma's 1+w, and no weight", "[kernels][ops]") {
  for_each_target([&] {
    for (int64_t n : kSizes) {
      const auto x = random_vec(n, -3, 3, 1 + n);
      const auto w = random_vec(n, -1, 1, 2 + n);
      double ss = 0;
      for (float v : x) ss += double(v) * v;
      const double inv = 1.0 / std::sqrt(ss / n + 1e-6);
      for (int mode = 0; mode < 3; ++mode) {
        std::vector<float> out(n);
        rmsnorm(x.data(), mode == 2 ? nullptr : w.data(), n, 1e-6f, mode == 1, out.data());
        for (int64_t i = 0; i < n; ++i) {
          const double scale = mode == 0 ? w[i] : (mode == 1 ? 1.0 + w[i] : 1.0);
          INFO("n=" << n << " mode=" << mode << " i=" << i);
          CHECK(close(out[i], x[i] * inv * scale, 2e-6, 1e-6));
        }
      }
      // In place.
      std::vector<float> y = x;
      rmsnorm(y.data(), w.data(), n, 1e-6f, false, y.data());
      for (int64_t i = 0; i < n; ++i) CHECK(close(y[i], x[i] * inv * w[i], 2e-6, 1e-6));
    }
  });
}

TEST_CASE("softmax matches the formula and zeroes masked entries", "[kernels][ops]") {
  for_each_target([&] {
    for (int64_t n : kSizes) {
      auto x = random_vec(n, -20, 20, 3 + n);
      if (n > 2) x[1] = -std::numeric_limits<float>::infinity();
      const auto orig = x;
      softmax(x.data(), n);
      double mx = -INFINITY;
      for (float v : orig) mx = std::max(mx, double(v));
      double sum = 0;
      for (float v : orig) sum += std::exp(double(v) - mx);
      double total = 0;
      for (int64_t i = 0; i < n; ++i) {
        INFO("n=" << n << " i=" << i);
        CHECK(close(x[i], std::exp(double(orig[i]) - mx) / sum, 1e-5, 1e-9));
        total += x[i];
      }
      if (n > 2) CHECK(x[1] == 0.0f);
      CHECK(total == Approx(1.0).epsilon(1e-5));
    }
    std::vector<float> all_masked(5, -std::numeric_limits<float>::infinity());
    softmax(all_masked.data(), 5);
    for (float v : all_masked) CHECK(v == 0.0f);
    std::vector<float> big{1000.0f, 999.0f, -1000.0f};
    softmax(big.data(), 3);
    CHECK(big[0] == Approx(1.0 / (1.0 + std::exp(-1.0))).epsilon(1e-5));
    CHECK(big[2] == 0.0f);
  });
}

TEST_CASE("silu, gelu_tanh, swiglu and geglu_tanh match the formulas", "[kernels][ops]") {
  for_each_target([&] {
    for (int64_t n : kSizes) {
      auto x = random_vec(n, -12, 12, 5 + n);
      if (n > 3) {
        x[0] = 0.0f;
        x[1] = -200.0f;  // far outside exp's range
        x[2] = 200.0f;
        if (n > 5) x[3] = 1e20f;  // x^3 overflows float
      }
      const auto up = random_vec(n, -2, 2, 6 + n);
      std::vector<float> s(n), g(n), sw(n), gg(n);
      silu(x.data(), n, s.data());
      gelu_tanh(x.data(), n, g.data());
      swiglu(x.data(), up.data(), n, sw.data());
      geglu_tanh(x.data(), up.data(), n, gg.data());
      for (int64_t i = 0; i < n; ++i) {
        INFO("n=" << n << " x=" << x[i]);
        CHECK(close(s[i], silu_ref(x[i]), 1e-5, 1e-7));
        CHECK(close(g[i], gelu_ref(x[i]), 1e-5, 1e-7));
        CHECK(close(sw[i], silu_ref(x[i]) * up[i], 1e-5, 1e-7));
        CHECK(close(gg[i], gelu_ref(x[i]) * up[i], 1e-5, 1e-7));
      }
      // In place.
      auto y = x;
      silu(y.data(), n, y.data());
      for (int64_t i = 0; i < n; ++i) CHECK(y[i] == s[i]);
    }
  });
}

TEST_CASE("add, mul, scale, axpy and dot match the formulas", "[kernels][ops]") {
  for_each_target([&] {
    for (int64_t n : kSizes) {
      const auto a = random_vec(n, -5, 5, 7 + n);
      const auto b = random_vec(n, -5, 5, 8 + n);
      std::vector<float> sum(n), prod(n);
      add(a.data(), b.data(), n, sum.data());
      mul(a.data(), b.data(), n, prod.data());
      auto sc = a;
      scale(sc.data(), n, 0.37f);
      auto ax = b;
      axpy(-1.5f, a.data(), n, ax.data());
      double d = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        CHECK(sum[i] == a[i] + b[i]);
        CHECK(prod[i] == a[i] * b[i]);
        CHECK(sc[i] == a[i] * 0.37f);
        CHECK(close(ax[i], b[i] - 1.5 * a[i], 2e-6, 1e-6));
        d += double(a[i]) * b[i];
        mag += std::fabs(double(a[i]) * b[i]);
      }
      CHECK(std::fabs(dot(a.data(), b.data(), n) - d) <= 1e-6 * mag + 1e-6);
      // In place add.
      auto c = a;
      add(c.data(), b.data(), n, c.data());
      for (int64_t i = 0; i < n; ++i) CHECK(c[i] == sum[i]);
    }
  });
}

TEST_CASE("dot_rows and axpy_rows equal dot and axpy per row, bit for bit", "[kernels][ops]") {
  // Attention uses them over strided cache rows (row stride > n, as for one head of a GQA cache); they must give
  // exactly what one dot / axpy call per row gives, so batching attention changes no result.
  for_each_target([&] {
    for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{64}, int64_t{100}, int64_t{256}}) {
      for (int64_t n_rows : {int64_t{1}, int64_t{5}, int64_t{33}}) {
        const int64_t stride = n + 24;
        const auto rows = random_vec(stride * n_rows, -3, 3, static_cast<uint32_t>(11 + n + n_rows));
        const auto q = random_vec(n, -2, 2, static_cast<uint32_t>(12 + n));
        const auto w = random_vec(n_rows, 0, 1, static_cast<uint32_t>(13 + n_rows));
        std::vector<float> got(static_cast<size_t>(n_rows));
        dot_rows(q.data(), rows.data(), stride, n_rows, n, got.data());
        auto y_batched = random_vec(n, -1, 1, 14);
        auto y_each = y_batched;
        axpy_rows(w.data(), rows.data(), stride, n_rows, n, y_batched.data());
        INFO("n=" << n << " rows=" << n_rows);
        for (int64_t j = 0; j < n_rows; ++j) {
          CHECK(got[j] == dot(q.data(), rows.data() + j * stride, n));
          axpy(w[j], rows.data() + j * stride, n, y_each.data());
        }
        for (int64_t i = 0; i < n; ++i) CHECK(y_batched[i] == y_each[i]);
      }
    }
  });
}
