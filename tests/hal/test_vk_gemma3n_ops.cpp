// Op-level checks of the Vulkan Gemma 3n kernels (gaussian top-k, rms_match, AltUp predict/correct,
// add_to_streams, matvec_f32_any) and of attention_rows against CPU references that follow runtime/cpu_model.cpp
// step by step. Random non-zero inputs, odd sizes, validation layers on, zero validation errors; skips without a
// Vulkan device.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tests/test_util.h"

#ifdef UNICORN_HAVE_VULKAN
#include "hal/vk_context.h"
#include "hal/vk_kernels.h"
#include "kernels/ops.h"
#include "tests/hal/vk_test_util.h"

using namespace unicorn;
using namespace unicorn::hal;
using namespace unicorn::test;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// cpu_model.cpp's altup_modalities: tanh(router_i . (rmsnorm(x, norm) / hidden)).
std::vector<float> modalities(const float* x, const std::vector<float>& norm, const std::vector<float>& router,
                              uint32_t hidden, uint32_t n_streams, float eps) {
  std::vector<float> tmp(hidden), mod(n_streams);
  kernels::rmsnorm(x, norm.data(), hidden, eps, false, tmp.data());
  kernels::scale(tmp.data(), hidden, static_cast<float>(1.0 / hidden));
  for (uint32_t i = 0; i < n_streams; ++i) {
    mod[i] = std::tanh(kernels::dot(router.data() + size_t(i) * hidden, tmp.data(), hidden));
  }
  return mod;
}

// Compares the n_tokens x hidden rows of each of n_streams streams at stride (the gaps are not compared).
void check_streams(const std::vector<float>& got, const std::vector<float>& want, uint32_t n_streams, uint32_t stride,
                   size_t rows_floats, float rtol, float atol) {
  for (uint32_t st = 0; st < n_streams; ++st) {
    const size_t b = size_t(st) * stride, e = b + rows_floats;
    INFO("stream " << st);
    check_close(std::vector<float>(got.begin() + b, got.begin() + e),
                std::vector<float>(want.begin() + b, want.begin() + e), rtol, atol);
  }
}

}  // namespace

TEST_CASE("vulkan gaussian top-k matches cpu_model's gaussian_topk", "[vulkan][gemma3n]") {
  NEED_VULKAN();
  const uint32_t n = 3001, rows = 3;
  for (float mult : {1.6448536f, 0.25f, -0.5f}) {
    std::vector<float> x = random_floats(size_t(n) * rows, 401, 3.0f);
    for (uint32_t i = 0; i < n; ++i) x[i] += 2.0f;  // row 0 off-centre: the mean matters
    GpuBuffer xb = upload(ctx, x);
    CommandRecorder rec(ctx);
    vk.gaussian_topk(rec, xb, n, rows, mult);
    rec.submit_and_wait();
    std::vector<float> want(x.size());
    size_t kept = 0;
    for (uint32_t r = 0; r < rows; ++r) {
      const float* xr = x.data() + size_t(r) * n;
      double sum = 0, var = 0;
      for (uint32_t i = 0; i < n; ++i) sum += xr[i];
      const double mean = sum / n;
      for (uint32_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      const float cutoff = float(mean) + float(std::sqrt(var / n)) * mult;
      for (uint32_t i = 0; i < n; ++i) {
        want[size_t(r) * n + i] = std::max(xr[i] - cutoff, 0.0f);
        kept += want[size_t(r) * n + i] > 0;
      }
    }
    CHECK(kept > 0);
    CHECK(kept < x.size());
    // fp32 sums of 3001 values of |x| <= 5 put mean and std off by ~1e-6 relative (cutoff error ~1e-5 worst
    // case); an output is x - cutoff or 0, so its error is the cutoff's: 2e-5 absolute.
    INFO("multiplier " << mult);
    check_close(download(xb, x.size()), want, 1e-5f, 2e-5f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan rms_match rescales to the reference magnitude, floor included", "[vulkan][gemma3n]") {
  NEED_VULKAN();
  const uint32_t n = 517, rows = 3;
  std::vector<float> x = random_floats(size_t(n) * rows, 421, 2.0f);
  for (uint32_t i = 0; i < n; ++i) x[size_t(2) * n + i] *= 1e-3f;  // row 2: mean square ~1e-6 < floor 1e-5
  const std::vector<float> ref = random_floats(size_t(n) * rows, 422, 3.0f);
  GpuBuffer xb = upload(ctx, x), rb = upload(ctx, ref);
  CommandRecorder rec(ctx);
  vk.rms_match(rec, xb, rb, n, rows);
  rec.submit_and_wait();
  std::vector<float> want(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + size_t(r) * n;
    const float* rr = ref.data() + size_t(r) * n;
    double sx = 0, sr = 0;
    for (uint32_t i = 0; i < n; ++i) {
      sx += double(xr[i]) * xr[i];
      sr += double(rr[i]) * rr[i];
    }
    const float target = float(std::sqrt(sr / n)), mag = float(std::sqrt(std::max(sx / n, 1e-5)));
    for (uint32_t i = 0; i < n; ++i) want[size_t(r) * n + i] = xr[i] * target / mag;
  }
  // fp32 mean squares over 517 terms (~1e-6 relative), one product and quotient: 1e-5 relative.
  check_close(download(xb, x.size()), want, 1e-5f, 1e-6f);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan AltUp predict, correct and add_to_streams match cpu_model's layer_gemma3n steps",
          "[vulkan][gemma3n]") {
  NEED_VULKAN();
  struct Shape {
    uint32_t hidden, n_streams, n_tokens, stride, active;
  };
  const float eps = 1e-6f;
  for (const Shape& s : {Shape{333, 4, 3, 3 * 333 + 7, 0}, Shape{160, 3, 1, 160, 2}, Shape{96, 4, 5, 5 * 96, 1}}) {
    INFO("hidden " << s.hidden << " streams " << s.n_streams << " tokens " << s.n_tokens << " stride " << s.stride
                   << " active " << s.active);
    const uint32_t H = s.hidden, N = s.n_streams, T = s.n_tokens;
    const size_t total = size_t(N) * s.stride, rows_floats = size_t(T) * H;
    const std::vector<float> streams = random_floats(total, 411, 2.0f);
    const std::vector<float> norm = random_floats(H, 412), router = random_floats(size_t(N) * H, 413, 4.0f);
    const std::vector<float> predict = random_floats(size_t(N) * N * N, 414, 0.5f);
    const std::vector<float> correct = random_floats(size_t(N) * N, 415, 0.5f);
    const std::vector<float> act = random_floats(rows_floats, 416, 2.0f);
    const std::vector<float> extra = random_floats(rows_floats, 417);
    auto at = [&](std::vector<float>& v, uint32_t st, uint32_t t) { return v.data() + size_t(st) * s.stride + size_t(t) * H; };
    auto cat = [&](const std::vector<float>& v, uint32_t st, uint32_t t) {
      return v.data() + size_t(st) * s.stride + size_t(t) * H;
    };
    // The modalities come from the router (composed from existing ops by the model); computed here on the CPU.
    std::vector<float> mod_p(size_t(T) * N), mod_c(size_t(T) * N);
    for (uint32_t t = 0; t < T; ++t) {
      const std::vector<float> mp = modalities(cat(streams, s.active, t), norm, router, H, N, eps);
      const std::vector<float> mc = modalities(act.data() + size_t(t) * H, norm, router, H, N, eps);
      std::copy(mp.begin(), mp.end(), mod_p.begin() + size_t(t) * N);
      std::copy(mc.begin(), mc.end(), mod_c.begin() + size_t(t) * N);
    }
    GpuBuffer sb = upload(ctx, streams), pb = upload(ctx, predict), cb = upload(ctx, correct), ab = upload(ctx, act);
    GpuBuffer mpb = upload(ctx, mod_p), mcb = upload(ctx, mod_c), eb = upload(ctx, extra);
    GpuBuffer pred = upload(ctx, std::vector<float>(total, kNaN));
    GpuBuffer corrected = upload(ctx, std::vector<float>(total, kNaN));
    CommandRecorder rec(ctx);
    vk.altup_predict(rec, sb, mpb, pb, pred, N, H, T, s.stride);
    vk.altup_correct(rec, pred, ab, mcb, cb, corrected, N, H, T, s.stride, s.active);
    rec.submit_and_wait();
    const std::vector<float> got_corr = download(corrected, total);
    vk.add_to_streams(rec, corrected, eb, N, 1, static_cast<uint32_t>(rows_floats), s.stride);
    rec.submit_and_wait();

    std::vector<float> want_pred(total, 0.0f), want_corr(total, 0.0f);
    for (uint32_t t = 0; t < T; ++t) {
      const float* mod = mod_p.data() + size_t(t) * N;
      std::vector<float> coef(size_t(N) * N);
      for (uint32_t k = 0; k < N * N; ++k) {
        float c = 0;
        for (uint32_t m = 0; m < N; ++m) c += predict[size_t(k) * N + m] * mod[m];
        coef[k] = c;
      }
      for (uint32_t j = 0; j < N; ++j) {
        float* pj = at(want_pred, j, t);
        for (uint32_t i = 0; i < N; ++i) kernels::axpy(coef[size_t(j) * N + i], cat(streams, i, t), H, pj);
        kernels::add(pj, cat(streams, j, t), H, pj);
      }
      const float* modc = mod_c.data() + size_t(t) * N;
      for (uint32_t st = 0; st < N; ++st) {
        float c = 1.0f;
        for (uint32_t m = 0; m < N; ++m) c += correct[size_t(st) * N + m] * modc[m];
        for (uint32_t i = 0; i < H; ++i) {
          at(want_corr, st, t)[i] = (act[size_t(t) * H + i] - cat(want_pred, s.active, t)[i]) * c + cat(want_pred, st, t)[i];
        }
      }
    }
    // fp32 on both sides with different summation orders over N <= 4 streams: a few ulps of |values| <= ~10.
    check_streams(download(pred, total), want_pred, N, s.stride, rows_floats, 1e-5f, 1e-5f);
    check_streams(got_corr, want_corr, N, s.stride, rows_floats, 1e-5f, 1e-5f);
    std::vector<float> want_added = want_corr;
    for (uint32_t st = 1; st < N; ++st) kernels::add(at(want_added, st, 0), extra.data(), int64_t(rows_floats), at(want_added, st, 0));
    check_streams(download(corrected, total), want_added, N, s.stride, rows_floats, 1e-5f, 1e-5f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan matvec_f32_any handles widths that are no multiple of 32", "[vulkan][gemma3n]") {
  NEED_VULKAN();
  for (uint32_t cols : {8u, 45u, 333u}) {
    const uint32_t rows = 37, T = 3;
    const std::vector<float> w = random_floats(size_t(rows) * cols, 441 + cols), x = random_floats(size_t(T) * cols, 442);
    GpuBuffer wb = upload(ctx, w), xb = upload(ctx, x);
    GpuBuffer yb = upload(ctx, std::vector<float>(size_t(T) * rows, kNaN));
    CommandRecorder rec(ctx);
    vk.matvec_f32_any(rec, wb, rows, cols, xb, yb, T);
    rec.submit_and_wait();
    std::vector<float> want(size_t(T) * rows);
    for (uint32_t t = 0; t < T; ++t) {
      for (uint32_t r = 0; r < rows; ++r) {
        double s = 0;
        for (uint32_t c = 0; c < cols; ++c) s += double(w[size_t(r) * cols + c]) * x[size_t(t) * cols + c];
        want[size_t(t) * rows + r] = float(s);
      }
    }
    // fp32 sum of <= 333 products of |.| <= 1 against double: < 333 * 2^-24 * 333 ~ 7e-3 worst case, ~1e-5
    // typical; 1e-4 relative + 1e-4 absolute.
    INFO("cols " << cols);
    check_close(download(yb, want.size()), want, 1e-4f, 1e-4f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan attention_rows matches attention_prefill and a double-precision reference", "[vulkan][prefill]") {
  NEED_VULKAN();
  const uint32_t n_q = 21, nh = 4, nkv = 2, hd = 64, pos = 9, window = 12;
  const uint32_t positions = pos + n_q;
  const std::vector<float> q = random_floats(size_t(n_q) * nh * hd, 451, 2.0f);
  const std::vector<float> k = random_floats(size_t(positions) * nkv * hd, 452, 2.0f);
  const std::vector<float> v = random_floats(size_t(positions) * nkv * hd, 453);
  const float scale = 0.125f;
  GpuBuffer qb = upload(ctx, q), kb = upload(ctx, k), vb = upload(ctx, v);
  GpuBuffer scores(ctx, size_t(n_q) * nh * positions * sizeof(float), BufferPlace::DeviceLocal);
  for (uint32_t win : {0u, window}) {
    for (float cap : {0.0f, 10.0f}) {
      GpuBuffer rows_out = upload(ctx, std::vector<float>(q.size(), kNaN));
      GpuBuffer tiled_out = upload(ctx, std::vector<float>(q.size(), kNaN));
      GpuBuffer tiled_v1_out = upload(ctx, std::vector<float>(q.size(), kNaN));
      CommandRecorder rec(ctx);
      vk.attention_rows(rec, qb, kb, vb, scores, rows_out, nh, nkv, hd, pos, n_q, win, scale, cap);
      {
        PrefillKernelScope v2(vk, false);
        vk.attention_prefill(rec, qb, kb, vb, tiled_out, n_q, nh, nkv, hd, pos, win, scale, cap);
      }
      {
        PrefillKernelScope v1(vk, true);
        vk.attention_prefill(rec, qb, kb, vb, tiled_v1_out, n_q, nh, nkv, hd, pos, win, scale, cap);
      }
      rec.submit_and_wait();
      std::vector<float> want(q.size());
      const uint32_t group = nh / nkv;
      for (uint32_t t = 0; t < n_q; ++t) {
        const uint32_t p = pos + t, lo = win > 0 && p + 1 > win ? p + 1 - win : 0;
        for (uint32_t h = 0; h < nh; ++h) {
          std::vector<double> wts;
          double m = -1e300, sum = 0;
          for (uint32_t j = lo; j <= p; ++j) {
            double s = 0;
            for (uint32_t d = 0; d < hd; ++d) s += double(q[(size_t(t) * nh + h) * hd + d]) * k[(size_t(j) * nkv + h / group) * hd + d];
            s *= scale;
            if (cap > 0) s = cap * std::tanh(s / cap);
            wts.push_back(s);
            m = std::max(m, s);
          }
          for (double& x : wts) sum += (x = std::exp(x - m));
          for (uint32_t d = 0; d < hd; ++d) {
            double acc = 0;
            for (uint32_t j = lo; j <= p; ++j) acc += wts[j - lo] * v[(size_t(j) * nkv + h / group) * hd + d];
            want[(size_t(t) * nh + h) * hd + d] = float(acc / sum);
          }
        }
      }
      INFO("window " << win << " softcap " << cap);
      // As the prefill attention test: fp32 scores and softmax, outputs convex combinations of |v| <= 1.
      check_close(download(rows_out, q.size()), want, 1e-4f, 2e-5f);
      check_close(download(tiled_out, q.size()), want, 1e-4f, 2e-5f);
      check_close(download(tiled_v1_out, q.size()), want, 1e-4f, 2e-5f);
    }
  }
  CHECK_NO_VALIDATION_ERRORS();
}

#else

TEST_CASE("vulkan gemma3n ops", "[vulkan]") { UNICORN_SKIP("built without Vulkan (UNICORN_HAVE_VULKAN undefined)"); }

#endif
