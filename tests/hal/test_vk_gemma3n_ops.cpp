// Op-level checks of the Vulkan Gemma 3n kernels (gaussian top-k, rms_match, AltUp predict/correct,
// add_to_streams, the fused altup_enter/altup_exit, the strided GLU, matvec_f32_any) and of attention_rows against
// CPU references that follow runtime/cpu_model.cpp step by step. Random non-zero inputs, odd sizes, validation layers on, zero validation errors; skips without a
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

TEST_CASE("vulkan altup_enter and altup_exit match the AltUp steps they fuse", "[vulkan][gemma3n]") {
  NEED_VULKAN();
  struct Shape {
    uint32_t hidden, n_streams, n_tokens, stride, active;
    bool per_layer_add, one_plus, out_scale;
  };
  const float eps = 1e-6f;
  // Widths below and above the 512-invocation workgroup's threshold, neither a multiple of the workgroup.
  for (const Shape& s : {Shape{333, 4, 3, 3 * 333 + 7, 0, true, true, true}, Shape{1100, 3, 1, 1100, 2, false, false, false},
                         Shape{96, 4, 2, 2 * 96, 1, true, false, true}, Shape{1029, 4, 1, 1029, 0, true, true, false}}) {
    INFO("hidden " << s.hidden << " streams " << s.n_streams << " tokens " << s.n_tokens << " active " << s.active);
    const uint32_t H = s.hidden, N = s.n_streams, T = s.n_tokens, A = s.active;
    const size_t total = size_t(N) * s.stride, rows = size_t(T) * H;
    const std::vector<float> streams = random_floats(total, 451, 2.0f), pl = random_floats(rows, 452, 3.0f);
    const std::vector<float> pl_w = random_floats(H, 453), router_w = random_floats(H, 454);
    const std::vector<float> router = random_floats(size_t(N) * H, 455, 0.05f);  // the 1 / hidden folded in
    const std::vector<float> predict = random_floats(size_t(N) * N * N, 456, 0.5f);
    const std::vector<float> correct = random_floats(size_t(N) * N, 457, 0.5f);
    const std::vector<float> norm_w = random_floats(H, 458), post_w = random_floats(H, 459);
    const std::vector<float> h = random_floats(rows, 460, 2.0f), d = random_floats(rows, 461, 2.0f);
    const std::vector<float> out_scale = random_floats(H, 462);
    auto row = [&](std::vector<float>& v, uint32_t st, uint32_t t) { return v.data() + size_t(st) * s.stride + size_t(t) * H; };
    auto norm = [&](const float* x, const std::vector<float>& w, bool one_plus) {
      std::vector<float> out(H);
      kernels::rmsnorm(x, w.data(), H, eps, one_plus, out.data());
      return out;
    };
    auto mods = [&](const float* x) {  // tanh(router . rmsnorm(x) * router_w)
      const std::vector<float> r = norm(x, router_w, false);
      std::vector<float> m(N);
      for (uint32_t i = 0; i < N; ++i) m[i] = std::tanh(kernels::dot(router.data() + size_t(i) * H, r.data(), H));
      return m;
    };

    // altup_enter's reference: the per-layer add, then predict, the active row and its norm.
    std::vector<float> want_streams = streams, want_pred(total, 0.0f), want_active(rows), want_xn(rows);
    for (uint32_t t = 0; t < T; ++t) {
      if (s.per_layer_add) {
        const std::vector<float> add = norm(pl.data() + size_t(t) * H, pl_w, s.one_plus);
        for (uint32_t st = 1; st < N; ++st) kernels::add(row(want_streams, st, t), add.data(), H, row(want_streams, st, t));
      }
      const std::vector<float> mod = mods(row(want_streams, A, t));
      for (uint32_t j = 0; j < N; ++j) {
        float* pj = row(want_pred, j, t);
        for (uint32_t i = 0; i < N; ++i) {
          float c = 0;
          for (uint32_t m = 0; m < N; ++m) c += predict[(size_t(j) * N + i) * N + m] * mod[m];
          kernels::axpy(c, row(want_streams, i, t), H, pj);
        }
        kernels::add(pj, row(want_streams, j, t), H, pj);
      }
      std::copy(row(want_pred, A, t), row(want_pred, A, t) + H, want_active.begin() + size_t(t) * H);
      const std::vector<float> xn = norm(row(want_pred, A, t), norm_w, s.one_plus);
      std::copy(xn.begin(), xn.end(), want_xn.begin() + size_t(t) * H);
    }
    const RmsWeight mode = s.one_plus ? RmsWeight::OnePlusWeight : RmsWeight::Weight;
    GpuBuffer sb = upload(ctx, streams), plb = upload(ctx, pl), plwb = upload(ctx, pl_w), rwb = upload(ctx, router_w);
    GpuBuffer rb = upload(ctx, router), pcb = upload(ctx, predict), nwb = upload(ctx, norm_w);
    GpuBuffer pred = upload(ctx, std::vector<float>(total, kNaN)), active = upload(ctx, std::vector<float>(rows, kNaN));
    GpuBuffer xn = upload(ctx, std::vector<float>(rows, kNaN));
    const VulkanKernels::Streams S{&sb, N, H, T, s.stride, A};
    VulkanKernels::AltupEnter e;
    if (s.per_layer_add) {
      e.pl = &plb;
      e.pl_w = &plwb;
      e.pl_mode = mode;
    }
    e.router_w = &rwb;
    e.router = &rb;
    e.coefs = &pcb;
    e.norm_w = &nwb;
    e.mode = mode;
    e.pred = &pred;
    e.active = &active;
    e.xn = &xn;
    CommandRecorder rec(ctx);
    vk.altup_enter(rec, S, eps, e);
    rec.submit_and_wait();
    // fp32 both sides, different summation orders over rows of <= 1100: ~1e-6 relative in the norms and the
    // router's dots, amplified at most a few times by the mix coefficients.
    check_streams(download(sb, total), want_streams, N, s.stride, rows, 1e-5f, 1e-5f);
    check_streams(download(pred, total), want_pred, N, s.stride, rows, 2e-5f, 2e-5f);
    check_close(download(active, rows), want_active, 2e-5f, 2e-5f);
    check_close(download(xn, rows), want_xn, 2e-5f, 2e-5f);

    // altup_exit's reference, on altup_enter's pred: h' = h + post-norm(d), the router on h', correct, the gate.
    std::vector<float> want_corr(total, 0.0f), want_gate(rows);
    for (uint32_t t = 0; t < T; ++t) {
      std::vector<float> hp = norm(d.data() + size_t(t) * H, post_w, s.one_plus);
      kernels::add(hp.data(), h.data() + size_t(t) * H, H, hp.data());
      const std::vector<float> mod = mods(hp.data());
      for (uint32_t st = 0; st < N; ++st) {
        float c = 1.0f;
        for (uint32_t m = 0; m < N; ++m) c += correct[size_t(st) * N + m] * mod[m];
        for (uint32_t i = 0; i < H; ++i) row(want_corr, st, t)[i] = (hp[i] - row(want_pred, A, t)[i]) * c + row(want_pred, st, t)[i];
      }
      for (uint32_t i = 0; i < H; ++i)
        want_gate[size_t(t) * H + i] = row(want_corr, A, t)[i] * (s.out_scale ? out_scale[i] : 1.0f);
    }
    GpuBuffer hb = upload(ctx, h), db = upload(ctx, d), pwb = upload(ctx, post_w), ccb = upload(ctx, correct);
    GpuBuffer osb = upload(ctx, out_scale), gate = upload(ctx, std::vector<float>(rows, kNaN));
    GpuBuffer corrected = upload(ctx, std::vector<float>(total, kNaN));
    const VulkanKernels::Streams C{&corrected, N, H, T, s.stride, A};
    vk.altup_exit(rec, C, eps, hb, db, pwb, mode, rwb, rb, ccb, pred, s.out_scale ? &osb : nullptr, gate);
    rec.submit_and_wait();
    check_streams(download(corrected, total), want_corr, N, s.stride, rows, 2e-5f, 2e-5f);
    check_close(download(gate, rows), want_gate, 2e-5f, 2e-5f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan glu_strided reads its up operand as a strided slice", "[vulkan][gemma3n]") {
  NEED_VULKAN();
  const uint32_t row = 37, rows = 3, stride = 5 * 37 + 3, offset = 2 * 37;
  const std::vector<float> g = random_floats(size_t(row) * rows, 471, 3.0f);
  const std::vector<float> u = random_floats(size_t(stride) * rows, 472);
  GpuBuffer gb = upload(ctx, g), ub = upload(ctx, u), out = upload(ctx, std::vector<float>(g.size(), kNaN));
  CommandRecorder rec(ctx);
  vk.glu_strided(rec, gb, ub, out, row * rows, GluActivation::GeluTanh, row, stride, offset);
  rec.submit_and_wait();
  std::vector<float> want(g.size());
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t i = 0; i < row; ++i) {
      const float x = g[size_t(r) * row + i];
      const float gelu = 0.5f * x * (1.0f + std::tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
      want[size_t(r) * row + i] = gelu * u[offset + size_t(r) * stride + i];
    }
  check_close(download(out, g.size()), want, 1e-5f, 1e-6f);
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
