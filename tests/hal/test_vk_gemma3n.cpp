// Op-level checks of the Vulkan Gemma 3n kernels (gaussian top-k, AltUp predict/correct, magnitude matching,
// per-layer inputs and gate) against CPU references that follow runtime/cpu_model.cpp step by step. Random
// non-zero inputs, odd sizes, validation layers on, zero validation errors; skips without a Vulkan device.
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
  for (uint32_t i = 0; i < n_streams; ++i) mod[i] = std::tanh(kernels::dot(router.data() + size_t(i) * hidden, tmp.data(), hidden));
  return mod;
}

struct AltupShape {
  uint32_t hidden, n_streams, n_tokens, stride, active;
};

}  // namespace

TEST_CASE("vulkan gaussian top-k matches cpu_model's gaussian_topk", "[vulkan][gemma3n]") {
  NEED_VULKAN();
  const uint32_t n = 3001, rows = 3;
  for (float mult : {1.6448536f, 0.25f, -0.5f}) {
    std::vector<float> x = random_floats(size_t(n) * rows, 401, 3.0f);
    for (uint32_t i = 0; i < n; ++i) x[i] += 2.0f;  // row 0 off-centre: the mean matters
    GpuBuffer xb = upload(ctx, x);
    GpuBuffer out = upload(ctx, std::vector<float>(x.size(), kNaN));
    CommandRecorder rec(ctx);
    vk.gaussian_topk(rec, xb, out, n, rows, mult);
    vk.gaussian_topk(rec, xb, xb, n, rows, mult);  // in place
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
    // case); an output is x - cutoff or 0, so the error is that of the cutoff: 2e-5 absolute.
    INFO("multiplier " << mult);
    check_close(download(out, x.size()), want, 1e-5f, 2e-5f);
    check_close(download(xb, x.size()), want, 1e-5f, 2e-5f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan AltUp predict and correct match cpu_model's layer_gemma3n steps", "[vulkan][gemma3n]") {
  NEED_VULKAN();
  const float eps = 1e-6f;
  for (const AltupShape& s : {AltupShape{333, 4, 3, 3 * 333 + 7, 0}, AltupShape{160, 3, 1, 160, 2},
                              AltupShape{96, 4, 5, 5 * 96, 1}}) {
    INFO("hidden " << s.hidden << " streams " << s.n_streams << " tokens " << s.n_tokens << " stride " << s.stride
                   << " active " << s.active);
    const uint32_t H = s.hidden, N = s.n_streams, T = s.n_tokens;
    const size_t stream_floats = size_t(N - 1) * s.stride + size_t(T) * H;
    const std::vector<float> streams = random_floats(stream_floats, 411, 2.0f);
    const std::vector<float> norm = random_floats(H, 412), router = random_floats(size_t(N) * H, 413, 4.0f);
    const std::vector<float> predict = random_floats(size_t(N) * N * N, 414, 0.5f);
    const std::vector<float> correct = random_floats(size_t(N) * N, 415, 0.5f);
    const std::vector<float> act = random_floats(size_t(T) * H, 416, 2.0f);
    GpuBuffer sb = upload(ctx, streams), nb = upload(ctx, norm), rb = upload(ctx, router);
    GpuBuffer pb = upload(ctx, predict), cb = upload(ctx, correct), ab = upload(ctx, act);
    GpuBuffer pred = upload(ctx, std::vector<float>(stream_floats, kNaN));
    GpuBuffer corrected = upload(ctx, std::vector<float>(stream_floats, kNaN));
    CommandRecorder rec(ctx);
    vk.altup_predict(rec, sb, nb, rb, pb, pred, H, N, T, s.stride, s.active, eps);
    vk.altup_correct(rec, pred, ab, nb, rb, cb, corrected, H, N, T, s.stride, s.active, eps);
    rec.submit_and_wait();

    // Reference, as cpu_model.cpp computes it (the stride gaps stay NaN on the GPU and are not compared).
    std::vector<float> want_pred(stream_floats, 0.0f), want_corr(stream_floats, 0.0f);
    for (uint32_t t = 0; t < T; ++t) {
      auto at = [&](std::vector<float>& v, uint32_t st) { return v.data() + size_t(st) * s.stride + size_t(t) * H; };
      auto cat = [&](const std::vector<float>& v, uint32_t st) {
        return v.data() + size_t(st) * s.stride + size_t(t) * H;
      };
      std::vector<float> mod = modalities(cat(streams, s.active), norm, router, H, N, eps);
      std::vector<float> coef(size_t(N) * N);
      for (uint32_t k = 0; k < N * N; ++k) {
        float c = 0;
        for (uint32_t m = 0; m < N; ++m) c += predict[size_t(k) * N + m] * mod[m];
        coef[k] = c;
      }
      for (uint32_t j = 0; j < N; ++j) {
        float* pj = at(want_pred, j);
        for (uint32_t i = 0; i < N; ++i) kernels::axpy(coef[size_t(j) * N + i], cat(streams, i), H, pj);
        kernels::add(pj, cat(streams, j), H, pj);
      }
      mod = modalities(act.data() + size_t(t) * H, norm, router, H, N, eps);
      for (uint32_t st = 0; st < N; ++st) {
        float c = 1.0f;
        for (uint32_t m = 0; m < N; ++m) c += correct[size_t(st) * N + m] * mod[m];
        for (uint32_t i = 0; i < H; ++i) {
          at(want_corr, st)[i] = (act[size_t(t) * H + i] - cat(want_pred, s.active)[i]) * c + cat(want_pred, st)[i];
        }
      }
    }
    const std::vector<float> got_pred = download(pred, stream_floats), got_corr = download(corrected, stream_floats);
    // fp32 throughout on both sides, different summation orders: the router dots (|terms| <= ~8, hidden <= 333)
    // differ by ~1e-6, the mixes of N <= 4 streams by a few ulps; 1e-4 relative + 1e-5 absolute.
    for (uint32_t st = 0; st < N; ++st) {
      const size_t b = size_t(st) * s.stride, e = b + size_t(T) * H;
      INFO("stream " << st);
      check_close(std::vector<float>(got_pred.begin() + b, got_pred.begin() + e),
                  std::vector<float>(want_pred.begin() + b, want_pred.begin() + e), 1e-4f, 1e-5f);
      check_close(std::vector<float>(got_corr.begin() + b, got_corr.begin() + e),
                  std::vector<float>(want_corr.begin() + b, want_corr.begin() + e), 1e-4f, 1e-5f);
    }
    // In place: pred over the streams, then the correction over pred.
    GpuBuffer inplace = upload(ctx, streams);
    vk.altup_predict(rec, inplace, nb, rb, pb, inplace, H, N, T, s.stride, s.active, eps);
    vk.altup_correct(rec, inplace, ab, nb, rb, cb, inplace, H, N, T, s.stride, s.active, eps);
    rec.submit_and_wait();
    const std::vector<float> got_inplace = download(inplace, stream_floats);
    for (uint32_t st = 0; st < N; ++st) {
      const size_t b = size_t(st) * s.stride, e = b + size_t(T) * H;
      check_close(std::vector<float>(got_inplace.begin() + b, got_inplace.begin() + e),
                  std::vector<float>(want_corr.begin() + b, want_corr.begin() + e), 1e-4f, 1e-5f);
    }
  }
  GpuBuffer small(ctx, 64, BufferPlace::DeviceLocal), big(ctx, 1 << 16, BufferPlace::DeviceLocal);
  CommandRecorder rec(ctx);
  CHECK_THROWS_AS(vk.altup_predict(rec, big, big, big, big, big, 64, 9, 1, 64, 0, 1e-6f), Error);    // > 8 streams
  CHECK_THROWS_AS(vk.altup_predict(rec, big, big, big, big, big, 64, 4, 2, 64, 0, 1e-6f), Error);    // stride
  CHECK_THROWS_AS(vk.altup_predict(rec, big, big, big, big, big, 64, 4, 1, 64, 4, 1e-6f), Error);    // active
  CHECK_THROWS_AS(vk.altup_correct(rec, big, big, big, big, small, big, 64, 4, 1, 64, 0, 1e-6f), Error);  // coefs
  CHECK(rec.pending() == 0);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan rms_match rescales to the reference magnitude, floor and accumulate included",
          "[vulkan][gemma3n]") {
  NEED_VULKAN();
  const uint32_t n = 517, rows = 3;
  std::vector<float> x = random_floats(size_t(n) * rows, 421, 2.0f);
  for (uint32_t i = 0; i < n; ++i) x[size_t(2) * n + i] *= 1e-3f;  // row 2: mean square ~1e-6 < floor 1e-5
  const std::vector<float> ref = random_floats(size_t(n) * rows, 422, 3.0f), acc0 = random_floats(size_t(n) * rows, 423);
  GpuBuffer xb = upload(ctx, x), rb = upload(ctx, ref), ob = upload(ctx, acc0);
  GpuBuffer out = upload(ctx, std::vector<float>(x.size(), kNaN));
  CommandRecorder rec(ctx);
  vk.rms_match(rec, xb, rb, out, n, rows, 1e-5f, false);
  vk.rms_match(rec, xb, rb, ob, n, rows, 1e-5f, true);
  rec.submit_and_wait();
  std::vector<float> want(x.size()), want_acc(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + size_t(r) * n;
    const float* rr = ref.data() + size_t(r) * n;
    double sx = 0, sr = 0;
    for (uint32_t i = 0; i < n; ++i) {
      sx += double(xr[i]) * xr[i];
      sr += double(rr[i]) * rr[i];
    }
    const float target = float(std::sqrt(sr / n)), mag = float(std::sqrt(std::max(sx / n, 1e-5)));
    for (uint32_t i = 0; i < n; ++i) {
      want[size_t(r) * n + i] = xr[i] * target / mag;
      want_acc[size_t(r) * n + i] = acc0[size_t(r) * n + i] + want[size_t(r) * n + i];
    }
  }
  // fp32 mean squares over 517 terms (~1e-6 relative), one product and quotient: 1e-5 relative.
  check_close(download(out, x.size()), want, 1e-5f, 1e-6f);
  check_close(download(ob, x.size()), want_acc, 1e-5f, 1e-6f);
  CHECK_THROWS_AS(vk.rms_match(rec, xb, rb, out, n, rows, 0.0f, false), Error);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan per-layer inputs and gate match cpu_model's gemma3n_inputs and layer_gemma3n steps",
          "[vulkan][gemma3n]") {
  NEED_VULKAN();
  const uint32_t P = 100, L = 3, T = 2, H = 256;
  const float eps = 1e-6f;
  const size_t floats = size_t(T) * L * P;
  const std::vector<float> proj = random_floats(floats, 431, 8.0f), tok = random_floats(floats, 432, 0.2f);
  const std::vector<float> norm = random_floats(P, 433);
  const float proj_scale = float(1.0 / std::sqrt(double(H))), tok_scale = float(std::sqrt(double(P)));
  const float combine = float(1.0 / std::sqrt(2.0));
  GpuBuffer pb = upload(ctx, proj), tb = upload(ctx, tok), nb = upload(ctx, norm);
  GpuBuffer pli = upload(ctx, std::vector<float>(floats, kNaN));
  CommandRecorder rec(ctx);
  vk.per_layer_inputs(rec, pb, tb, nb, pli, P, L, T, eps, proj_scale, tok_scale, combine);
  rec.submit_and_wait();
  std::vector<float> want(floats), row(size_t(L) * P);
  for (uint32_t t = 0; t < T; ++t) {
    float* pl = want.data() + size_t(t) * L * P;
    std::copy(proj.begin() + size_t(t) * L * P, proj.begin() + size_t(t + 1) * L * P, pl);
    kernels::scale(pl, int64_t(L) * P, proj_scale);
    for (uint32_t l = 0; l < L; ++l) kernels::rmsnorm(pl + size_t(l) * P, norm.data(), P, eps, false, pl + size_t(l) * P);
    std::copy(tok.begin() + size_t(t) * L * P, tok.begin() + size_t(t + 1) * L * P, row.begin());
    kernels::scale(row.data(), int64_t(L) * P, tok_scale);
    kernels::add(pl, row.data(), int64_t(L) * P, pl);
    kernels::scale(pl, int64_t(L) * P, combine);
  }
  // fp32 sum of squares over P = 100 and a handful of roundings per element: 1e-5 relative.
  check_close(download(pli, floats), want, 1e-5f, 1e-6f);

  // Gate of layer 1 with the per-layer inputs just computed.
  const std::vector<float> gate = random_floats(size_t(T) * P, 434, 3.0f);
  GpuBuffer gb = upload(ctx, gate);
  GpuBuffer gated = upload(ctx, std::vector<float>(gate.size(), kNaN));
  vk.per_layer_gate(rec, gb, pli, gated, P, T, L * P, 1 * P);
  vk.per_layer_gate(rec, gb, pli, gb, P, T, L * P, 1 * P);  // in place
  rec.submit_and_wait();
  std::vector<float> want_gate(gate.size());
  kernels::gelu_tanh(gate.data(), int64_t(T) * P, want_gate.data());
  for (uint32_t t = 0; t < T; ++t) {
    kernels::mul(want_gate.data() + size_t(t) * P, want.data() + size_t(t) * L * P + P, P, want_gate.data() + size_t(t) * P);
  }
  // GELU-tanh through exp in fp32 (as the unary shader): 2e-5 relative, as that shader's test.
  check_close(download(gated, gate.size()), want_gate, 2e-5f, 1e-5f);
  check_close(download(gb, gate.size()), want_gate, 2e-5f, 1e-5f);
  CHECK_THROWS_AS(vk.per_layer_gate(rec, gb, pli, gated, P, T, L * P, 2 * P + 1), Error);  // segment past the row
  CHECK_THROWS_AS(vk.per_layer_inputs(rec, pb, tb, nb, pli, P, L + 1, T, eps, 1, 1, 1), Error);  // too few floats
  CHECK(rec.pending() == 0);
  CHECK_NO_VALIDATION_ERRORS();
}

#else

TEST_CASE("vulkan gemma3n ops", "[vulkan]") { UNICORN_SKIP("built without Vulkan (UNICORN_HAVE_VULKAN undefined)"); }

#endif
