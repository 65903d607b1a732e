// Op-level checks of the kernels the Vulkan model added on top of the basic ops: multi-token RoPE, causal prefill
// attention, Gemma 3n's AltUp/top-k/magnitude ops, the any-width F32 matvec and strided copies. Random non-zero
// inputs, odd sizes, double-precision references; validation layers on, zero validation errors required. Skips when
// no Vulkan device is present.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "base/error.h"
#include "tests/test_util.h"

#ifdef UNICORN_HAVE_VULKAN
#include "hal/vk_context.h"
#include "hal/vk_kernels.h"
#include "hal/vk_uploader.h"
#include "kernels/ops.h"
#include "tests/hal/vk_test_util.h"

using namespace unicorn;
using namespace unicorn::hal;
using namespace unicorn::test;

namespace {
// A RoPE table as the model builds it: per position, head_dim / 2 cosines then head_dim / 2 sines (base 10000).
std::vector<float> rope_table(uint32_t positions, uint32_t head_dim) {
  const uint32_t half = head_dim / 2;
  std::vector<float> table(size_t(positions) * head_dim);
  for (uint32_t p = 0; p < positions; ++p)
    for (uint32_t i = 0; i < half; ++i) {
      const double inv = 1.0 / std::pow(10000.0, 2.0 * i / head_dim);
      table[size_t(p) * head_dim + i] = float(std::cos(p * inv));
      table[size_t(p) * head_dim + half + i] = float(std::sin(p * inv));
    }
  return table;
}
}  // namespace

TEST_CASE("vulkan rope rotates consecutive tokens with consecutive table rows", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t head_dim = 48, half = head_dim / 2, n_heads = 3, n_tokens = 5, pos = 7, positions = 16;
  const std::vector<float> table = rope_table(positions, head_dim);
  const std::vector<float> x = random_floats(size_t(n_tokens) * n_heads * head_dim, 5);
  GpuBuffer tb = upload(ctx, table), xb = upload(ctx, x);
  CommandRecorder rec(ctx);
  vk.rope(rec, xb, tb, pos * head_dim, n_heads, head_dim, /*interleaved=*/false, n_tokens);
  rec.submit_and_wait();
  std::vector<double> want(x.begin(), x.end());
  for (uint32_t t = 0; t < n_tokens; ++t) {
    const float* c = table.data() + size_t(pos + t) * head_dim;
    for (uint32_t h = 0; h < n_heads; ++h) {
      double* v = want.data() + (size_t(t) * n_heads + h) * head_dim;
      for (uint32_t i = 0; i < half; ++i) {
        const double a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * c[half + i];
        v[i + half] = b * c[i] + a * c[half + i];
      }
    }
  }
  check_close(download(xb, x.size()), want, 1e-5, 1e-6);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan prefill attention is causal, windowed, GQA and soft-capped like a double reference", "[vulkan]") {
  NEED_VULKAN();
  struct Case {
    uint32_t n_heads, n_kv_heads, head_dim, q_pos0, n_queries, window;
    float softcap;
  };
  for (const Case& c : {Case{4, 2, 32, 0, 13, 0, 0.0f}, Case{6, 3, 48, 9, 21, 8, 0.0f}, Case{2, 1, 64, 3, 7, 0, 20.0f},
                        Case{3, 3, 16, 0, 150, 37, 0.0f}}) {
    INFO("heads " << c.n_heads << "/" << c.n_kv_heads << " dim " << c.head_dim << " queries " << c.q_pos0 << "+"
                  << c.n_queries << " window " << c.window << " softcap " << c.softcap);
    const uint32_t total = c.q_pos0 + c.n_queries;
    const size_t kv_floats = size_t(total) * c.n_kv_heads * c.head_dim;
    const std::vector<float> q = random_floats(size_t(c.n_queries) * c.n_heads * c.head_dim, 11, 2.0f);
    const std::vector<float> k = random_floats(kv_floats, 12, 2.0f), v = random_floats(kv_floats, 13);
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    GpuBuffer qb = upload(ctx, q), kb = upload(ctx, k), vb = upload(ctx, v);
    GpuBuffer scores(ctx, size_t(c.n_queries) * c.n_heads * total * sizeof(float), BufferPlace::DeviceLocal);
    GpuBuffer out(ctx, q.size() * sizeof(float), BufferPlace::HostVisible);
    CommandRecorder rec(ctx);
    vk.attention_rows(rec, qb, kb, vb, scores, out, c.n_heads, c.n_kv_heads, c.head_dim, c.q_pos0, c.n_queries,
                      c.window, scale, c.softcap);
    rec.submit_and_wait();

    std::vector<double> want(q.size());
    for (uint32_t t = 0; t < c.n_queries; ++t) {
      const uint32_t p = c.q_pos0 + t;
      const uint32_t start = c.window > 0 && p + 1 > c.window ? p + 1 - c.window : 0;
      for (uint32_t h = 0; h < c.n_heads; ++h) {
        const uint32_t kvh = h / (c.n_heads / c.n_kv_heads);
        const float* qr = q.data() + (size_t(t) * c.n_heads + h) * c.head_dim;
        std::vector<double> w;
        double m = -1e300, sum = 0;
        for (uint32_t j = start; j <= p; ++j) {
          const float* kr = k.data() + (size_t(j) * c.n_kv_heads + kvh) * c.head_dim;
          double s = 0;
          for (uint32_t d = 0; d < c.head_dim; ++d) s += double(qr[d]) * kr[d];
          s *= scale;
          if (c.softcap > 0) s = c.softcap * std::tanh(s / c.softcap);
          w.push_back(s);
          m = std::max(m, s);
        }
        for (double& x : w) sum += (x = std::exp(x - m));
        for (uint32_t d = 0; d < c.head_dim; ++d) {
          double acc = 0;
          for (uint32_t j = start; j <= p; ++j)
            acc += w[j - start] * v[(size_t(j) * c.n_kv_heads + kvh) * c.head_dim + d];
          want[(size_t(t) * c.n_heads + h) * c.head_dim + d] = acc / sum;
        }
      }
    }
    check_close(download(out, q.size()), want, 1e-4, 1e-5);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan gaussian top-k and rms_match follow their formulas row by row", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t n = 333, rows = 3;
  const std::vector<float> x = random_floats(size_t(n) * rows, 21, 3.0f), ref = random_floats(size_t(n) * rows, 22);
  const float multiplier = 1.6448536f;  // normal quantile of 0.95, Gemma 3n's sparsity
  GpuBuffer xb = upload(ctx, x), yb = upload(ctx, x), rb = upload(ctx, ref);
  CommandRecorder rec(ctx);
  vk.gaussian_topk(rec, xb, n, rows, multiplier);
  vk.rms_match(rec, yb, rb, n, rows);
  rec.submit_and_wait();
  std::vector<double> want_topk(x.size()), want_match(x.size());
  size_t kept = 0;
  for (uint32_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + size_t(r) * n;
    const float* rr = ref.data() + size_t(r) * n;
    double mean = 0, var = 0, sx = 0, sr = 0;
    for (uint32_t i = 0; i < n; ++i) mean += xr[i];
    mean /= n;
    for (uint32_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    const double cutoff = mean + std::sqrt(var / n) * multiplier;
    for (uint32_t i = 0; i < n; ++i) {
      want_topk[size_t(r) * n + i] = std::max(xr[i] - cutoff, 0.0);
      kept += xr[i] > cutoff;
      sx += double(xr[i]) * xr[i];
      sr += double(rr[i]) * rr[i];
    }
    const double f = std::sqrt(sr / n) / std::sqrt(std::max(sx / n, 1e-5));
    for (uint32_t i = 0; i < n; ++i) want_match[size_t(r) * n + i] = xr[i] * f;
  }
  CHECK(kept > 0);              // the test keeps some entries...
  CHECK(kept < x.size() / 4);   // ...and zeroes most
  check_close(download(xb, x.size()), want_topk, 1e-4, 1e-5);
  check_close(download(yb, x.size()), want_match, 1e-5, 1e-6);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan AltUp predict, correct and add_to_streams match scalar loops", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t N = 4, H = 70, T = 3, active = 1, stride = T * H;
  const std::vector<float> streams = random_floats(size_t(N) * stride, 31), mod = random_floats(size_t(T) * N, 32);
  const std::vector<float> predict = random_floats(size_t(N) * N * N, 33), correct = random_floats(size_t(N) * N, 34);
  const std::vector<float> act = random_floats(size_t(T) * H, 35), extra = random_floats(size_t(T) * H, 36);
  GpuBuffer sb = upload(ctx, streams), mb = upload(ctx, mod), pcb = upload(ctx, predict), ccb = upload(ctx, correct);
  GpuBuffer ab = upload(ctx, act), eb = upload(ctx, extra);
  GpuBuffer pred(ctx, streams.size() * sizeof(float), BufferPlace::DeviceLocal);
  GpuBuffer corrected(ctx, streams.size() * sizeof(float), BufferPlace::DeviceLocal);
  CommandRecorder rec(ctx);
  vk.altup_predict(rec, sb, mb, pcb, pred, N, H, T, stride);
  vk.altup_correct(rec, pred, ab, mb, ccb, corrected, N, H, T, stride, active);
  rec.submit_and_wait();
  const std::vector<float> got_pred = download(pred, streams.size());
  vk.add_to_streams(rec, corrected, eb, N, 1, T * H, stride);
  rec.submit_and_wait();

  std::vector<double> want_pred(streams.size()), want_corr(streams.size());
  for (uint32_t t = 0; t < T; ++t) {
    for (uint32_t e = 0; e < H; ++e) {
      const size_t idx = size_t(t) * H + e;
      for (uint32_t j = 0; j < N; ++j) {
        double acc = streams[j * stride + idx];
        for (uint32_t i = 0; i < N; ++i) {
          double c = 0;
          for (uint32_t m = 0; m < N; ++m) c += double(predict[(j * N + i) * N + m]) * mod[t * N + m];
          acc += c * streams[i * stride + idx];
        }
        want_pred[j * stride + idx] = acc;
      }
      const double innov = act[idx] - want_pred[active * stride + idx];
      for (uint32_t s = 0; s < N; ++s) {
        double c = 1;
        for (uint32_t m = 0; m < N; ++m) c += double(correct[s * N + m]) * mod[t * N + m];
        want_corr[s * stride + idx] = innov * c + want_pred[s * stride + idx] + (s >= 1 ? extra[idx] : 0.0f);
      }
    }
  }
  check_close(got_pred, want_pred, 1e-5, 1e-5);
  check_close(download(corrected, streams.size()), want_corr, 1e-5, 1e-5);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan any-width F32 matvec handles widths that are no multiple of 32", "[vulkan]") {
  NEED_VULKAN();
  for (uint32_t cols : {8u, 16u, 45u, 200u}) {
    const uint32_t rows = 37, tokens = 3;
    INFO("cols " << cols);
    const std::vector<float> w = random_floats(size_t(rows) * cols, 41 + cols), x = random_floats(size_t(tokens) * cols, 42);
    GpuBuffer wb = upload(ctx, w), xb = upload(ctx, x);
    GpuBuffer yb(ctx, size_t(tokens) * rows * sizeof(float), BufferPlace::HostVisible);
    CommandRecorder rec(ctx);
    vk.matvec_f32_any(rec, wb, rows, cols, xb, yb, tokens);
    rec.submit_and_wait();
    std::vector<double> want(size_t(tokens) * rows);
    for (uint32_t t = 0; t < tokens; ++t)
      for (uint32_t r = 0; r < rows; ++r) {
        double s = 0;
        for (uint32_t c = 0; c < cols; ++c) s += double(w[size_t(r) * cols + c]) * x[size_t(t) * cols + c];
        want[size_t(t) * rows + r] = s;
      }
    check_close(download(yb, want.size()), want, 1e-5, 1e-5);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan recorder copies strided rows in order with dispatches, and discards a half-recorded batch",
          "[vulkan]") {
  NEED_VULKAN();
  const uint32_t rows = 5, src_cols = 12, take = 4, first = 3;
  const std::vector<float> src = random_floats(size_t(rows) * src_cols, 51);
  GpuBuffer sb = upload(ctx, src);
  GpuBuffer dst(ctx, size_t(rows) * take * sizeof(float), BufferPlace::DeviceLocal);
  CommandRecorder rec(ctx);
  vk.unary(rec, sb, sb, rows * src_cols, UnaryOp::Scale, 2.0f);  // the copy must see this...
  rec.copy_rows(sb, first * 4, src_cols * 4, dst, 0, take * 4, take * 4, rows);
  vk.unary(rec, dst, dst, rows * take, UnaryOp::Scale, 3.0f);  // ...and this must see the copy
  rec.submit_and_wait();
  std::vector<double> want(size_t(rows) * take);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t i = 0; i < take; ++i) want[size_t(r) * take + i] = 6.0 * src[size_t(r) * src_cols + first + i];
  check_close(download(dst, want.size()), want, 1e-6, 0);
  CHECK_THROWS_AS(rec.copy_rows(sb, 0, src_cols * 4, dst, 0, take * 4, take * 4, rows + 1), Error);

  // A batch abandoned after an error never runs: the next submission holds only what follows.
  vk.unary(rec, dst, dst, rows * take, UnaryOp::Scale, 100.0f);
  rec.discard();
  CHECK(rec.pending() == 0);
  vk.unary(rec, dst, dst, rows * take, UnaryOp::Scale, -1.0f);
  rec.submit_and_wait();
  for (double& v : want) v = -v;
  check_close(download(dst, want.size()), want, 1e-6, 0);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan recorder: concurrent groups end with a barrier; cached descriptor sets see new push constants",
          "[vulkan]") {
  NEED_VULKAN();
  const uint32_t n = 1000;
  const std::vector<float> a = random_floats(n, 61), b = random_floats(n, 62);
  GpuBuffer ab = upload(ctx, a), bb = upload(ctx, b);
  GpuBuffer a2(ctx, n * sizeof(float), BufferPlace::DeviceLocal), b2(ctx, n * sizeof(float), BufferPlace::DeviceLocal);
  GpuBuffer out(ctx, n * sizeof(float), BufferPlace::HostVisible);
  CommandRecorder rec(ctx);
  for (float factor : {2.0f, -3.0f, 0.5f}) {  // same buffers every round: the sets come from the cache
    rec.begin_concurrent();
    vk.unary(rec, ab, a2, n, UnaryOp::Scale, factor);
    vk.unary(rec, bb, b2, n, UnaryOp::Scale, factor + 1.0f);
    rec.end_concurrent();
    vk.add(rec, a2, b2, out, n, n);  // reads both results of the group
    rec.submit_and_wait();
    std::vector<double> want(n);
    for (uint32_t i = 0; i < n; ++i) want[i] = double(a[i]) * factor + double(b[i]) * (factor + 1.0f);
    INFO("factor " << factor);
    check_close(download(out, n), want, 1e-6, 1e-7);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan kv_store appends rotated keys and plain values at the cache position", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t head_dim = 40, half = head_dim / 2, n_kv = 3, n_tokens = 4, pos = 6, ctx_len = 12;
  const uint32_t row = n_kv * head_dim;
  const std::vector<float> table = rope_table(ctx_len, head_dim);
  const std::vector<float> k = random_floats(size_t(n_tokens) * row, 71), v = random_floats(size_t(n_tokens) * row, 72);
  const std::vector<float> old = random_floats(size_t(ctx_len) * row, 73);  // earlier cache contents stay
  for (bool interleaved : {false, true}) {
    INFO("interleaved " << interleaved);
    GpuBuffer kb = upload(ctx, k), vb = upload(ctx, v), tb = upload(ctx, table);
    GpuBuffer kc = upload(ctx, old), vc = upload(ctx, old);
    CommandRecorder rec(ctx);
    vk.kv_store(rec, kb, vb, tb, pos * head_dim, n_kv, head_dim, interleaved, n_tokens, kc, vc, pos);
    rec.submit_and_wait();
    std::vector<double> want_k(old.begin(), old.end()), want_v(old.begin(), old.end());
    for (uint32_t t = 0; t < n_tokens; ++t) {
      const float* c = table.data() + size_t(pos + t) * head_dim;
      for (uint32_t h = 0; h < n_kv; ++h) {
        const size_t src = (size_t(t) * n_kv + h) * head_dim, dst = size_t(pos) * row + src;
        for (uint32_t i = 0; i < head_dim; ++i) want_v[dst + i] = v[src + i];
        for (uint32_t i = 0; i < half; ++i) {
          const uint32_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
          const double a = k[src + ia], b = k[src + ib];
          want_k[dst + ia] = a * c[i] - b * c[half + i];
          want_k[dst + ib] = b * c[i] + a * c[half + i];
        }
      }
    }
    check_close(download(kc, old.size()), want_k, 1e-5, 1e-6);
    check_close(download(vc, old.size()), want_v, 0, 0);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

// ---- Fused decode kernels (add_rmsnorm, rope_store, matvec_glu) against double references -------------------------

namespace {
double gain(RmsWeight m, double w) { return m == RmsWeight::Weight ? w : (m == RmsWeight::OnePlusWeight ? 1.0 + w : 1.0); }
}  // namespace

TEST_CASE("vulkan add_rmsnorm adds the (post-normed) branches in place and norms the sum", "[vulkan]") {
  NEED_VULKAN();
  const float eps = 1e-6f;
  for (uint32_t n : {300u, 2048u}) {  // 128 invocations with an uneven tail; the 512-invocation path
    for (int variant : {0, 1, 2}) {   // plain add; Gemma post-norm; Gemma 3n: + normed d2 + d3 (aliasing out), scales
      const bool post = variant >= 1, more_terms = variant == 2;
      const RmsWeight mode = post ? RmsWeight::OnePlusWeight : RmsWeight::Weight;
      INFO("n " << n << " variant " << variant);
      const uint32_t rows = 3;
      const std::vector<float> x = random_floats(size_t(rows) * n, 81, 2.0f), d = random_floats(size_t(rows) * n, 82);
      const std::vector<float> d2 = random_floats(size_t(rows) * n, 85, 3.0f), d3 = random_floats(size_t(rows) * n, 86);
      const std::vector<float> dw = random_floats(n, 83), w = random_floats(n, 84), d2w = random_floats(n, 87);
      GpuBuffer xb = upload(ctx, x), db = upload(ctx, d), dwb = upload(ctx, dw), wb = upload(ctx, w);
      GpuBuffer d2b = upload(ctx, d2), d2wb = upload(ctx, d2w);
      GpuBuffer out = upload(ctx, more_terms ? d3 : std::vector<float>(size_t(rows) * n, std::nanf("")));
      MoreAddends more;
      const double scale = more_terms ? 0.7071 : 1.0;
      if (more_terms) {
        more.d2 = &d2b;
        more.d2_w = &d2wb;
        more.d3 = &out;
        more.scale = float(scale);
      }
      CommandRecorder rec(ctx);
      vk.add_rmsnorm(rec, xb, db, post ? &dwb : nullptr, mode, wb, mode, out, n, rows, eps, more);
      rec.submit_and_wait();
      std::vector<double> want_x(x.size()), want_out(x.size());
      auto inv_rms = [&](const std::vector<float>& v, size_t b) {
        double ss = 0;
        for (uint32_t i = 0; i < n; ++i) ss += double(v[b + i]) * v[b + i];
        return 1.0 / std::sqrt(ss / n + eps);
      };
      for (uint32_t r = 0; r < rows; ++r) {
        const size_t b = size_t(r) * n;
        const double dinv = inv_rms(d, b), d2inv = inv_rms(d2, b);
        double ss = 0;
        for (uint32_t i = 0; i < n; ++i) {
          double v = x[b + i] + (post ? d[b + i] * dinv * gain(mode, dw[i]) : d[b + i]);
          if (more_terms) v += d2[b + i] * d2inv * gain(mode, d2w[i]) + d3[b + i];
          want_x[b + i] = v * scale;
          ss += want_x[b + i] * want_x[b + i];
        }
        const double inv = 1.0 / std::sqrt(ss / n + eps);
        for (uint32_t i = 0; i < n; ++i) want_out[b + i] = want_x[b + i] * inv * gain(mode, w[i]);
      }
      check_close(download(xb, x.size()), want_x, 1e-5, 1e-6);
      check_close(download(out, x.size()), want_out, 1e-4, 1e-5);
    }
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan rope_store norms and rotates q and k, appends k and v, for GQA and shared-KV layers", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t head_dim = 40, half = head_dim / 2, n_heads = 6, n_tokens = 3, pos = 5, ctx_len = 10;
  const float eps = 1e-6f;
  const std::vector<float> table = rope_table(ctx_len, head_dim);
  const std::vector<float> qw = random_floats(head_dim, 91), kw = random_floats(head_dim, 92);
  struct Case {
    uint32_t n_kv;
    bool norms, v_norm, interleaved;
    RmsWeight mode;
  };
  for (const Case& c : {Case{2, false, false, true, RmsWeight::Weight}, Case{2, true, false, false, RmsWeight::OnePlusWeight},
                        Case{3, true, true, false, RmsWeight::Weight}, Case{0, true, false, false, RmsWeight::Weight}}) {
    INFO("n_kv " << c.n_kv << " norms " << c.norms << " v_norm " << c.v_norm << " interleaved " << c.interleaved);
    const uint32_t kv = std::max(c.n_kv, 1u), row = kv * head_dim;
    const std::vector<float> q = random_floats(size_t(n_tokens) * n_heads * head_dim, 93, 3.0f);
    const std::vector<float> k = random_floats(size_t(n_tokens) * row, 94, 3.0f), v = random_floats(size_t(n_tokens) * row, 95);
    const std::vector<float> old = random_floats(size_t(ctx_len) * row, 96);
    GpuBuffer qb = upload(ctx, q), kb = upload(ctx, k), vb = upload(ctx, v), tb = upload(ctx, table);
    GpuBuffer qwb = upload(ctx, qw), kwb = upload(ctx, kw), kc = upload(ctx, old), vc = upload(ctx, old);
    VulkanKernels::HeadNorms norms;
    if (c.norms) {
      norms.q_w = &qwb;
      norms.k_w = &kwb;
    }
    norms.mode = c.mode;
    norms.v_norm = c.v_norm;
    norms.eps = eps;
    CommandRecorder rec(ctx);
    vk.rope_store(rec, qb, kb, vb, tb, pos * head_dim, n_heads, c.n_kv, head_dim, c.interleaved, n_tokens, kc, vc, pos,
                  norms);
    rec.submit_and_wait();
    // One head: optional norm with weight w, then the rotation of position pos + t.
    auto rotate = [&](const float* src, const std::vector<float>& w, bool norm, uint32_t t, double* dst) {
      double ss = 0;
      for (uint32_t i = 0; i < head_dim; ++i) ss += double(src[i]) * src[i];
      const double inv = norm ? 1.0 / std::sqrt(ss / head_dim + eps) : 1.0;
      const float* cs = table.data() + size_t(pos + t) * head_dim;
      for (uint32_t i = 0; i < half; ++i) {
        const uint32_t ia = c.interleaved ? 2 * i : i, ib = c.interleaved ? 2 * i + 1 : i + half;
        const double a = src[ia] * inv * (norm ? gain(c.mode, w[ia]) : 1.0);
        const double b = src[ib] * inv * (norm ? gain(c.mode, w[ib]) : 1.0);
        dst[ia] = a * cs[i] - b * cs[half + i];
        dst[ib] = b * cs[i] + a * cs[half + i];
      }
    };
    std::vector<double> want_q(q.size()), want_k(old.begin(), old.end()), want_v(old.begin(), old.end());
    for (uint32_t t = 0; t < n_tokens; ++t) {
      for (uint32_t h = 0; h < n_heads; ++h) {
        const size_t o = (size_t(t) * n_heads + h) * head_dim;
        rotate(q.data() + o, qw, c.norms, t, want_q.data() + o);
      }
      for (uint32_t h = 0; h < c.n_kv; ++h) {
        const size_t src = (size_t(t) * c.n_kv + h) * head_dim, dst = size_t(pos) * row + src;
        rotate(k.data() + src, kw, c.norms, t, want_k.data() + dst);
        double ss = 0;
        for (uint32_t i = 0; i < head_dim; ++i) ss += double(v[src + i]) * v[src + i];
        const double vinv = c.v_norm ? 1.0 / std::sqrt(ss / head_dim + eps) : 1.0;
        for (uint32_t i = 0; i < head_dim; ++i) want_v[dst + i] = v[src + i] * vinv;
      }
    }
    check_close(download(qb, q.size()), want_q, 1e-5, 1e-5);
    check_close(download(kc, old.size()), want_k, 1e-5, 1e-5);  // n_kv 0: the caches are untouched
    check_close(download(vc, old.size()), want_v, 1e-5, 1e-6);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan matvec_glu equals act(gate . x) * (up . x) for Q4_K, SiLU and GELU-tanh", "[vulkan]") {
  NEED_VULKAN();
  CHECK(VulkanKernels::matvec_glu_supports(DType::Q4_K, DType::Q4_K, 512));
  CHECK_FALSE(VulkanKernels::matvec_glu_supports(DType::Q4_K, DType::Q6_K, 512));
  CHECK_FALSE(VulkanKernels::matvec_glu_supports(DType::Q4_K, DType::Q4_K, 288));
  struct Case {
    uint32_t rows, cols, tokens;
    GluActivation act;
  };
  for (const Case& c : {Case{37, 512, 1, GluActivation::Silu}, Case{5, 2304, 3, GluActivation::GeluTanh},
                        Case{64, 256, 2, GluActivation::Silu}, Case{1, 4096, 1, GluActivation::GeluTanh}}) {
    INFO(c.rows << "x" << c.cols << " tokens " << c.tokens << " act " << static_cast<int>(c.act));
    const std::vector<float> wg = random_floats(size_t(c.rows) * c.cols, 101), wu = random_floats(size_t(c.rows) * c.cols, 102);
    const std::vector<uint8_t> qg = quantize_matrix(DType::Q4_K, wg, c.rows, c.cols);
    const std::vector<uint8_t> qu = quantize_matrix(DType::Q4_K, wu, c.rows, c.cols);
    GpuBuffer gb(ctx, qg.size(), BufferPlace::DeviceLocal), ub(ctx, qu.size(), BufferPlace::DeviceLocal);
    gb.upload(qg.data(), qg.size());
    ub.upload(qu.data(), qu.size());
    const std::vector<float> x = random_floats(size_t(c.tokens) * c.cols, 103, 0.2f);
    GpuBuffer xb = upload(ctx, x), yb = upload(ctx, std::vector<float>(size_t(c.tokens) * c.rows, std::nanf("")));
    CommandRecorder rec(ctx);
    vk.matvec_glu(rec, DType::Q4_K, gb, ub, c.rows, c.cols, xb, yb, c.tokens, c.act);
    rec.submit_and_wait();
    const std::vector<float> got = download(yb, size_t(c.tokens) * c.rows);
    std::vector<float> g(got.size()), u(got.size()), want(got.size());
    kernels::matmul_reference(kernels::WeightMatrix{DType::Q4_K, qg.data(), c.rows, c.cols}, x.data(), c.tokens,
                              g.data(), nullptr);
    kernels::matmul_reference(kernels::WeightMatrix{DType::Q4_K, qu.data(), c.rows, c.cols}, x.data(), c.tokens,
                              u.data(), nullptr);
    if (c.act == GluActivation::Silu) kernels::swiglu(g.data(), u.data(), int64_t(g.size()), want.data());
    else kernels::geglu_tanh(g.data(), u.data(), int64_t(g.size()), want.data());
    for (size_t i = 0; i < got.size(); ++i) {
      // fp32 sums of ~cols terms: relative to the operands' size, not to the (possibly tiny) product.
      const double tol = 1e-4 * (std::fabs(g[i]) + 1) * (std::fabs(u[i]) + 1) + 1e-5;
      if (!(std::fabs(double(got[i]) - want[i]) <= tol)) FAIL("output " << i << ": got " << got[i] << ", want " << want[i]);
    }
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan recorder: a batch cut into many submissions runs in order; discard after a flush", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t n = 1000, steps = 37;
  const std::vector<float> x = random_floats(n, 111), b = random_floats(n, 112);
  // Every submission pattern, both ways of timing, and both ways of waiting (sleeping, or polling the last fence).
  for (int variant = 0; variant < 16; ++variant) {
    const uint32_t every = std::array<uint32_t, 4>{0u, 1u, 2u, 5u}[variant % 4];
    const GpuTiming timing = variant / 4 % 2 ? GpuTiming::Span : GpuTiming::PerDispatch;
    const char* spin = variant / 8 ? "1" : "0";
    INFO("submit every " << every << ", span timing " << (timing == GpuTiming::Span) << ", spin wait " << spin);
    GpuBuffer xb = upload(ctx, x), bb = upload(ctx, b);
    setenv("UNICORN_VK_SPIN_WAIT", spin, 1);
    CommandRecorder rec(ctx, timing);
    unsetenv("UNICORN_VK_SPIN_WAIT");
    rec.set_submit_every(every);
    for (uint32_t s = 0; s < steps; ++s) vk.add(rec, xb, bb, xb, n, n);  // each step reads the last one's output
    rec.submit_and_wait();
    if (ctx.has_timestamps()) {
      CHECK(rec.timings().size() == (timing == GpuTiming::PerDispatch ? steps : 0u));
      CHECK(rec.last_span_ms() > 0);
      double sum = 0;
      for (const DispatchTime& t : rec.timings()) sum += t.ms;
      CHECK(rec.last_span_ms() >= sum * 0.999);  // the span holds every dispatch and the gaps between them
    }
    CHECK(rec.last_wait_ms() >= 0);
    std::vector<float> want(n);
    for (uint32_t i = 0; i < n; ++i) {
      float v = x[i];
      for (uint32_t s = 0; s < steps; ++s) v += b[i];
      want[i] = v;
    }
    check_close(download(xb, n), want, 0.0f, 0.0f);
    // A batch dropped after some of it was submitted: the next batch starts clean.
    for (uint32_t s = 0; s < 9; ++s) vk.add(rec, xb, bb, xb, n, n);
    rec.discard();
    CHECK(rec.pending() == 0);
    const std::vector<float> now = download(xb, n);
    vk.add(rec, xb, bb, xb, n, n);
    rec.submit_and_wait();
    std::vector<float> want2(n);
    for (uint32_t i = 0; i < n; ++i) want2[i] = now[i] + b[i];
    check_close(download(xb, n), want2, 0.0f, 0.0f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan staged uploader copies in chunks through its slots, in order, into several buffers", "[vulkan]") {
  NEED_VULKAN();
  // Odd sizes, offsets and a chunk that is no multiple of 4: every slot is reused several times.
  std::vector<uint8_t> a(10007), b(3001), c(64);
  for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(i * 7 + 1);
  for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(i * 13 + 5);
  for (size_t i = 0; i < c.size(); ++i) c[i] = uint8_t(200 - i);
  GpuBuffer ba(ctx, a.size() + 3, BufferPlace::DeviceLocal, false), bb(ctx, b.size(), BufferPlace::DeviceLocal, false);
  GpuBuffer mapped(ctx, c.size(), BufferPlace::HostVisible);  // written directly
  {
    StagedUploader up(ctx, 999, 2);
    up.upload(ba, 3, a.data(), a.size());
    up.upload(bb, 0, b.data(), 1500);
    up.upload(bb, 1500, b.data() + 1500, b.size() - 1500);
    up.upload(mapped, 0, c.data(), c.size());
    CHECK_THROWS_AS(up.upload(bb, 1, b.data(), b.size()), Error);  // past the end
    up.finish();
    CHECK(up.staged_bytes() == a.size() + b.size());
  }
  std::vector<uint8_t> got(a.size() + 3), got_b(b.size()), got_c(c.size());
  ba.download(got.data(), got.size());
  bb.download(got_b.data(), got_b.size());
  mapped.download(got_c.data(), got_c.size());
  CHECK(std::equal(a.begin(), a.end(), got.begin() + 3));
  CHECK(got_b == b);
  CHECK(got_c == c);
  CHECK_NO_VALIDATION_ERRORS();
}

#else
TEST_CASE("vulkan model ops", "[vulkan]") { UNICORN_SKIP("built without Vulkan (UNICORN_HAVE_VULKAN undefined)"); }
#endif
