// Op-level checks of the Vulkan prefill kernels (tiled mat-mul, ...) against the CPU reference: random non-zero
// inputs, sizes that are not multiples of the tiles, every weight type, validation layers on, zero validation errors.
// Skips when no Vulkan device is present.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "tests/test_util.h"

#ifdef UNICORN_HAVE_VULKAN
#include "base/dtype.h"
#include "base/half.h"
#include "hal/vk_context.h"
#include "hal/vk_kernels.h"
#include "kernels/matmul.h"
#include "quant/quant.h"
#include "tests/hal/vk_test_util.h"

using namespace unicorn;
using namespace unicorn::hal;
using namespace unicorn::test;

namespace {

constexpr DType kAllWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0,
                                     DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Narrow products of long batches run as mat-vecs, Q8_0's on integer dot products where the device has them (int8
// activations: test_vk_ops.cpp's bound).
bool narrow_int8(const VulkanKernels& vk, DType t, uint32_t rows, uint32_t cols, uint32_t n_tokens) {
  return vk.narrow_as_matvec(rows, n_tokens) && vk.matvec_int_dot(t, cols);
}

// matmul (the tiled prefill shader) against kernels::matmul_reference, as check_weight_product states. The GPU
// accumulates cols products in fp32 (relative rounding ~ cols * 2^-24 * sum |w x| in the worst case,
// ~6e-8 * sqrt(cols) typically; cols <= 544 here gives < 3.3e-5 worst case, 1.4e-6 typical).
void check_matmul(VulkanContext& ctx, VulkanKernels& vk, DType t, uint32_t rows, uint32_t cols, uint32_t n_tokens,
                  uint32_t seed) {
  // fp16 arithmetic: operands rounded to 11 bits and 32-term fp16 sums, each add rounding at 2^-12 of a partial
  // sum: observed up to 1.1e-3 of sum |w x| (the worst case is 1.7e-2), so 4e-3.
  check_weight_product(
      ctx, t, rows, cols, n_tokens, seed,
      [&](CommandRecorder& rec, const GpuBuffer& w, uint64_t w_offset, const GpuBuffer& x, const GpuBuffer& y) {
        vk.matmul(rec, t, w, w_offset, rows, cols, x, y, n_tokens);
      },
      12, vk.matmul_f16_math(t, rows, n_tokens) ? 4e-3 : narrow_int8(vk, t, rows, cols, n_tokens) ? 1e-2 : 1e-5);
}

// Double-precision causal attention: q/out [n_q][n_heads][hd], caches [position][n_kv][hd].
std::vector<float> attention_reference(const std::vector<float>& q, const std::vector<float>& k,
                                       const std::vector<float>& v, uint32_t n_q, uint32_t n_heads, uint32_t n_kv,
                                       uint32_t hd, uint32_t pos, uint32_t window, float scale, float softcap) {
  std::vector<float> out(q.size());
  const uint32_t group = n_heads / n_kv;
  for (uint32_t t = 0; t < n_q; ++t) {
    const uint32_t p = pos + t;
    const uint32_t lo = window > 0 && p + 1 > window ? p + 1 - window : 0;
    for (uint32_t h = 0; h < n_heads; ++h) {
      const uint32_t kvh = h / group;
      const float* qh = q.data() + (size_t(t) * n_heads + h) * hd;
      std::vector<double> w(p + 1 - lo);
      double m = -1e300, sum = 0;
      for (uint32_t j = lo; j <= p; ++j) {
        const float* kr = k.data() + (size_t(j) * n_kv + kvh) * hd;
        double s = 0;
        for (uint32_t d = 0; d < hd; ++d) s += double(qh[d]) * kr[d];
        s *= scale;
        if (softcap > 0) s = softcap * std::tanh(s / softcap);
        w[j - lo] = s;
        m = std::max(m, s);
      }
      for (double& x : w) sum += (x = std::exp(x - m));
      for (uint32_t d = 0; d < hd; ++d) {
        double acc = 0;
        for (uint32_t j = lo; j <= p; ++j) acc += w[j - lo] * v[(size_t(j) * n_kv + kvh) * hd + d];
        out[(size_t(t) * n_heads + h) * hd + d] = float(acc / sum);
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("vulkan prefill attention matches a double-precision reference (causal, GQA, window, softcap)",
          "[vulkan][prefill]") {
  NEED_VULKAN();
  struct Case {
    uint32_t n_q, n_heads, n_kv_heads, head_dim, pos, window;
    float softcap;
  };
  // Query counts off the 32/16/8-query blocks, key ranges off the key tiles; head_dim 256 takes the small tiles;
  // head_dim 80 and 48 leave attn_prefill_v2's last output columns partial, 30 takes attn_prefill in both runs.
  // Both kernels: attn_prefill (v1) and attn_prefill_v2.
  for (const bool v1 : {false, true})
  for (const Case& c : {Case{37, 4, 2, 64, 0, 0, 0.0f}, Case{33, 6, 2, 80, 19, 0, 0.0f},
                        Case{45, 2, 1, 48, 7, 13, 0.0f}, Case{7, 3, 3, 256, 40, 0, 30.0f},
                        Case{1, 2, 2, 32, 5, 0, 0.0f}, Case{20, 8, 2, 128, 50, 24, 20.0f},
                        Case{70, 4, 1, 256, 3, 0, 0.0f}, Case{19, 2, 1, 30, 4, 9, 0.0f}}) {
    PrefillKernelScope kernel(vk, v1);
    INFO((v1 ? "attn_prefill" : "attn_prefill_v2") << ": n_q " << c.n_q << " heads " << c.n_heads << "/"
                                                    << c.n_kv_heads << " dim " << c.head_dim << " pos " << c.pos
                                                    << " window " << c.window << " softcap " << c.softcap);
    const uint32_t positions = c.pos + c.n_q;
    const size_t kv_floats = size_t(positions) * c.n_kv_heads * c.head_dim;
    const std::vector<float> q = random_floats(size_t(c.n_q) * c.n_heads * c.head_dim, 301, 2.0f);
    const std::vector<float> k = random_floats(kv_floats, 302, 2.0f), v = random_floats(kv_floats, 303);
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    GpuBuffer qb = upload(ctx, q), kb = upload(ctx, k), vb = upload(ctx, v);
    GpuBuffer out = upload(ctx, std::vector<float>(q.size(), std::numeric_limits<float>::quiet_NaN()));
    CommandRecorder rec(ctx);
    vk.attention_prefill(rec, qb, kb, vb, out, c.n_q, c.n_heads, c.n_kv_heads, c.head_dim, c.pos, c.window, scale,
                         c.softcap);
    rec.submit_and_wait();
    // fp32 scores (head_dim <= 256 products of |q k| <= 4, rounding ~1e-6 relative) and fp32 online softmax over
    // <= 90 keys: outputs are convex combinations of |v| <= 1, so absolute error ~1e-6; 1e-4 relative + 2e-5
    // absolute leaves a margin while a wrong mask, window edge or head mapping moves outputs by ~1e-2 or more.
    check_close(download(out, q.size()),
                attention_reference(q, k, v, c.n_q, c.n_heads, c.n_kv_heads, c.head_dim, c.pos, c.window, scale,
                                    c.softcap),
                1e-4f, 2e-5f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan split-K decode attention matches attention_decode's double-precision reference",
          "[vulkan][prefill]") {
  NEED_VULKAN();
  struct Case {
    uint32_t n_heads, n_kv_heads, head_dim, positions, kv_start, kv_len;
    float softcap;
  };
  // kv_len below, at and across chunk (128) boundaries, a window start inside the cache, head_dim 256.
  for (const Case& c : {Case{4, 2, 64, 37, 0, 37, 0.0f}, Case{6, 2, 80, 600, 45, 511, 0.0f},
                        Case{3, 3, 48, 300, 44, 256, 5.0f}, Case{2, 1, 32, 1, 0, 1, 0.0f},
                        Case{2, 2, 256, 140, 1, 129, 0.0f}}) {
    INFO("heads " << c.n_heads << "/" << c.n_kv_heads << " dim " << c.head_dim << " window [" << c.kv_start << ", +"
                  << c.kv_len << ") softcap " << c.softcap);
    const size_t kv_floats = size_t(c.positions) * c.n_kv_heads * c.head_dim;
    const std::vector<float> q = random_floats(size_t(c.n_heads) * c.head_dim, 311, 2.0f);
    const std::vector<float> k = random_floats(kv_floats, 312, 2.0f), v = random_floats(kv_floats, 313);
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    GpuBuffer qb = upload(ctx, q), kb = upload(ctx, k), vb = upload(ctx, v);
    GpuBuffer part(ctx, VulkanKernels::attention_decode_partials(c.n_heads, c.head_dim, c.kv_len) * sizeof(float),
                   BufferPlace::DeviceLocal);
    GpuBuffer out = upload(ctx, std::vector<float>(q.size(), std::numeric_limits<float>::quiet_NaN()));
    CommandRecorder rec(ctx);
    vk.attention_decode_split(rec, qb, kb, vb, part, out, c.n_heads, c.n_kv_heads, c.head_dim, c.kv_start, c.kv_len,
                              scale, c.softcap);
    CHECK(rec.pending() == 2);
    rec.submit_and_wait();
    // The decode query is the prefill reference's single query at position kv_start + kv_len - 1 with window kv_len.
    const uint32_t p = c.kv_start + c.kv_len - 1;
    const std::vector<float> want =
        attention_reference(q, k, v, 1, c.n_heads, c.n_kv_heads, c.head_dim, p, c.kv_len, scale, c.softcap);
    // Same bound as the prefill attention (fp32 scores, fp32 merge of <= 5 chunks of exp-weighted sums).
    check_close(download(out, q.size()), want, 1e-4f, 2e-5f);
  }
  GpuBuffer a(ctx, 1 << 16, BufferPlace::DeviceLocal), b(ctx, 1 << 16, BufferPlace::DeviceLocal);
  GpuBuffer tiny(ctx, 64, BufferPlace::DeviceLocal);
  CommandRecorder rec(ctx);
  CHECK_THROWS_AS(vk.attention_decode_split(rec, a, a, a, tiny, b, 2, 2, 64, 0, 100, 1.0f, 0.0f), Error);  // scratch
  CHECK_THROWS_AS(vk.attention_decode_split(rec, a, a, a, b, a, 2, 2, 64, 0, 10, 1.0f, 0.0f), Error);  // aliasing
  CHECK_THROWS_AS(vk.attention_decode_split(rec, a, a, a, b, a, 3, 2, 64, 0, 10, 1.0f, 0.0f), Error);  // GQA ratio
  CHECK(rec.pending() == 0);
  CHECK_NO_VALIDATION_ERRORS();
}

// ---- F16 KV cache (set_kv_f16): the NAME_kvf16 shaders ------------------------------------------------------------

namespace {
// Turns the F16 cache off again when a test ends (the kernels object is shared by the tests).
struct KvF16Scope {
  VulkanKernels& vk;
  explicit KvF16Scope(VulkanKernels& k) : vk(k) { vk.set_kv_f16(true); }
  ~KvF16Scope() { vk.set_kv_f16(false); }
};
}  // namespace

TEST_CASE("vulkan F16 KV cache: kv_store rounds to F16, every attention kernel reads it", "[vulkan][prefill]") {
  NEED_VULKAN();
  if (!ctx.has_16bit_storage()) UNICORN_SKIP(ctx.device_name() << " has no 16-bit storage access (no F16 KV cache)");
  // kv_store: the F16 cache holds the F32 kernel's values rounded to F16 (the conversion may round to nearest or
  // toward zero, so within one F16 step, 2^-10 relative).
  {
    const uint32_t head_dim = 40, n_kv = 3, n_tokens = 4, pos = 6, ctx_len = 12, row = n_kv * head_dim;
    const std::vector<float> table = [&] {
      std::vector<float> t(size_t(ctx_len) * head_dim);
      for (uint32_t p = 0; p < ctx_len; ++p)
        for (uint32_t i = 0; i < head_dim / 2; ++i) {
          const double a = p * std::pow(10000.0, -2.0 * i / head_dim);
          t[size_t(p) * head_dim + i] = float(std::cos(a));
          t[size_t(p) * head_dim + head_dim / 2 + i] = float(std::sin(a));
        }
      return t;
    }();
    const std::vector<float> k = random_floats(size_t(n_tokens) * row, 321, 2.0f);
    const std::vector<float> v = random_floats(size_t(n_tokens) * row, 322);
    GpuBuffer kb = upload(ctx, k), vb = upload(ctx, v), tb = upload(ctx, table);
    const std::vector<float> zeros(size_t(ctx_len) * row, 0.0f);
    GpuBuffer kc32 = upload(ctx, zeros), vc32 = upload(ctx, zeros);
    std::vector<float> unused;
    GpuBuffer kc16 = upload_f16(ctx, zeros, unused), vc16 = upload_f16(ctx, zeros, unused);
    CommandRecorder rec(ctx);
    vk.kv_store(rec, kb, vb, tb, pos * head_dim, n_kv, head_dim, false, n_tokens, kc32, vc32, pos);
    rec.submit_and_wait();
    {
      KvF16Scope f16(vk);
      vk.kv_store(rec, kb, vb, tb, pos * head_dim, n_kv, head_dim, false, n_tokens, kc16, vc16, pos);
      CHECK_THROWS_AS(vk.kv_store(rec, kb, vb, tb, pos * head_dim, n_kv, head_dim, false, n_tokens, kc16, vc16,
                                  ctx_len), Error);  // past the end of an F16 cache
      rec.submit_and_wait();
    }
    check_close(download_f16(kc16, zeros.size()), download(kc32, zeros.size()), 1e-3f, 1e-6f);
    check_close(download_f16(vc16, zeros.size()), download(vc32, zeros.size()), 1e-3f, 1e-6f);
  }
  KvF16Scope f16(vk);
  // Decode (vec4 kernel at head_dim 64, scalar at 30), split-K decode, tiled prefill (attn_prefill_v2 and
  // attn_prefill) and per-row prefill, each against the double reference on the rounded cache (the bounds of the
  // F32 tests: the math is fp32 throughout).
  struct Case {
    uint32_t n_heads, n_kv_heads, head_dim, pos, n_q;
  };
  for (const Case& c : {Case{4, 2, 64, 36, 1}, Case{2, 1, 30, 24, 1}, Case{6, 2, 64, 299, 1}, Case{4, 2, 64, 7, 20}}) {
    INFO("heads " << c.n_heads << "/" << c.n_kv_heads << " dim " << c.head_dim << " pos " << c.pos << " n_q " << c.n_q);
    const uint32_t positions = c.pos + c.n_q;
    const size_t kv_floats = size_t(positions) * c.n_kv_heads * c.head_dim;
    const std::vector<float> q = random_floats(size_t(c.n_q) * c.n_heads * c.head_dim, 323, 2.0f);
    std::vector<float> k, v;
    GpuBuffer qb = upload(ctx, q);
    GpuBuffer kb = upload_f16(ctx, random_floats(kv_floats, 324, 2.0f), k);
    GpuBuffer vb = upload_f16(ctx, random_floats(kv_floats, 325), v);
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    const std::vector<float> want =
        attention_reference(q, k, v, c.n_q, c.n_heads, c.n_kv_heads, c.head_dim, c.pos, 0, scale, 0.0f);
    const auto nan_out = [&] {
      return upload(ctx, std::vector<float>(q.size(), std::numeric_limits<float>::quiet_NaN()));
    };
    GpuBuffer scores(ctx, size_t(c.n_q) * c.n_heads * positions * sizeof(float), BufferPlace::DeviceLocal);
    CommandRecorder rec(ctx);
    if (c.n_q == 1) {
      GpuBuffer out = nan_out();
      vk.attention_decode(rec, qb, kb, vb, scores, out, c.n_heads, c.n_kv_heads, c.head_dim, 0, positions, scale, 0.0f);
      rec.submit_and_wait();
      check_close(download(out, q.size()), want, 1e-4f, 2e-5f);
      if (c.head_dim % 4 == 0) {
        GpuBuffer part(ctx, VulkanKernels::attention_decode_partials(c.n_heads, c.head_dim, positions) * 4,
                       BufferPlace::DeviceLocal);
        GpuBuffer out2 = nan_out();
        vk.attention_decode_split(rec, qb, kb, vb, part, out2, c.n_heads, c.n_kv_heads, c.head_dim, 0, positions,
                                  scale, 0.0f);
        rec.submit_and_wait();
        check_close(download(out2, q.size()), want, 1e-4f, 2e-5f);
      }
    } else {
      GpuBuffer out = nan_out(), out1 = nan_out(), out2 = nan_out();
      {
        PrefillKernelScope v2(vk, false);
        vk.attention_prefill(rec, qb, kb, vb, out, c.n_q, c.n_heads, c.n_kv_heads, c.head_dim, c.pos, 0, scale,
                             0.0f);
      }
      {
        PrefillKernelScope v1(vk, true);
        vk.attention_prefill(rec, qb, kb, vb, out1, c.n_q, c.n_heads, c.n_kv_heads, c.head_dim, c.pos, 0, scale,
                             0.0f);
      }
      vk.attention_rows(rec, qb, kb, vb, scores, out2, c.n_heads, c.n_kv_heads, c.head_dim, c.pos, c.n_q, 0, scale,
                        0.0f);
      rec.submit_and_wait();
      check_close(download(out, q.size()), want, 1e-4f, 2e-5f);
      check_close(download(out1, q.size()), want, 1e-4f, 2e-5f);
      check_close(download(out2, q.size()), want, 1e-4f, 2e-5f);
    }
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan prefill attention rejects bad shapes", "[vulkan][prefill]") {
  NEED_VULKAN();
  GpuBuffer a(ctx, 64 * 1024, BufferPlace::DeviceLocal), b(ctx, 64 * 1024, BufferPlace::DeviceLocal);
  CommandRecorder rec(ctx);
  CHECK_THROWS_AS(vk.attention_prefill(rec, a, a, a, b, 4, 3, 2, 64, 0, 0, 1.0f, 0.0f), Error);     // GQA ratio
  CHECK_THROWS_AS(vk.attention_prefill(rec, a, a, a, b, 1, 1, 1, 512, 0, 0, 1.0f, 0.0f), Error);    // head_dim
  CHECK_THROWS_AS(vk.attention_prefill(rec, a, a, a, b, 8, 2, 2, 64, 1000, 0, 1.0f, 0.0f), Error);  // cache size
  CHECK_THROWS_AS(vk.attention_prefill(rec, a, a, a, a, 8, 2, 2, 64, 0, 0, 1.0f, 0.0f), Error);     // aliasing
  CHECK_THROWS_AS(vk.attention_prefill(rec, a, a, a, b, 8, 2, 2, 64, 0, 0, 1.0f, -1.0f), Error);    // softcap
  CHECK(rec.pending() == 0);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan matmul matches the CPU reference for every weight type and odd sizes", "[vulkan][prefill]") {
  NEED_VULKAN();
  for (DType t : kAllWeightTypes) {
    const bool k_quant = dtype_traits(t).block_elems == 256;
    // rows not multiples of the 64-row tile; tokens 1, 7 (16-token tiles), 33 (three 16-tiles), 130 (the wide kernel).
    check_matmul(ctx, vk, t, 67, k_quant ? 512 : 544, 33, 201);
    check_matmul(ctx, vk, t, 5, k_quant ? 256 : 96, 1, 202);
    check_matmul(ctx, vk, t, 37, k_quant ? 256 : 160, 7, 203);
    check_matmul(ctx, vk, t, 130, k_quant ? 256 : 64, 130, 204);
    // At most kNarrowRows rows of a long batch: per-token mat-vecs.
    check_matmul(ctx, vk, t, 4, k_quant ? 512 : 416, 100, 208);
    check_matmul(ctx, vk, t, VulkanKernels::kNarrowRows, k_quant ? 256 : 96, 70, 209);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan wide matmul (64- and 128-token tiles, split-K) matches the CPU reference for every weight type",
          "[vulkan][prefill]") {
  NEED_VULKAN();
  using Tile = VulkanKernels::WideTile;
  // Tilings x (fp32, fp16).
  for (int variant = 0; variant < 6; ++variant) {
    const Tile tile = std::array<Tile, 3>{Tile::Tokens128, Tile::Tokens64, Tile::SplitK}[variant % 3];
    const bool f16 = variant >= 3;
    if (f16 && !ctx.has_float16_math()) {
      WARN("no shaderFloat16 on " << ctx.device_name() << ": the fp16-arithmetic mat-muls are not tested");
      break;
    }
    vk.set_matmul_wide_tile(tile);
    vk.set_matmul_f16_math(f16);
    vk.set_matmul_coop_matrix(false);
    for (DType t : kAllWeightTypes) {
      if (tile == Tile::SplitK && !vk.matmul_split_supported(t)) continue;
      const bool k_quant = dtype_traits(t).block_elems == 256;
      // Rows past a 128-row tile; tokens past a 128 and a 64 tile; exactly 64 (the first wide batch); 17 steps.
      check_matmul(ctx, vk, t, 133, k_quant ? 512 : 416, 150, 205);
      check_matmul(ctx, vk, t, 128, k_quant ? 256 : 96, 64, 206);
      if (!k_quant) check_matmul(ctx, vk, t, 70, 544, 65, 207);
    }
  }
  vk.set_matmul_wide_tile(Tile::Auto);
  vk.set_matmul_f16_math(true);
  vk.set_matmul_coop_matrix(true);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan cooperative-matrix matmul (64- and 128-token tiles) matches the CPU reference for the quantized "
          "types",
          "[vulkan][prefill]") {
  NEED_VULKAN();
  if (ctx.coop_matrix() == CoopMatrix::None) {
    WARN("no usable cooperative matrices on " << ctx.device_name() << ": the matmul_cm kernels are not tested");
    return;
  }
  INFO("extension " << coop_matrix_name(ctx.coop_matrix()));
  using Tile = VulkanKernels::WideTile;
  for (Tile tile : {Tile::Tokens128, Tile::Tokens64}) {
    vk.set_matmul_wide_tile(tile);
    for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
      const bool k_quant = dtype_traits(t).block_elems == 256;
      REQUIRE(vk.matmul_coop_matrix(t, 133, 150));
      // Rows past a 128-row tile and a 16-row fragment; tokens past a 128, a 64 and a 16 tile; exactly 64.
      check_matmul(ctx, vk, t, 133, k_quant ? 512 : 416, 150, 210);
      check_matmul(ctx, vk, t, 128, k_quant ? 256 : 96, 64, 211);
      check_matmul(ctx, vk, t, 250, k_quant ? 768 : 544, 77, 212);
    }
  }
  vk.set_matmul_wide_tile(Tile::Auto);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan matmul rejects bad shapes and aliasing", "[vulkan][prefill]") {
  NEED_VULKAN();
  GpuBuffer w(ctx, 4096, BufferPlace::DeviceLocal);
  GpuBuffer x(ctx, 4096, BufferPlace::DeviceLocal), y(ctx, 4096, BufferPlace::DeviceLocal);
  CommandRecorder rec(ctx);
  CHECK_THROWS_AS(vk.matmul(rec, DType::Q4_K, w, 0, 1, 100, x, y, 8), Error);   // not a block multiple
  CHECK_THROWS_AS(vk.matmul(rec, DType::F32, w, 0, 5, 256, x, y, 1), Error);    // runs past the weights
  CHECK_THROWS_AS(vk.matmul(rec, DType::F32, w, 0, 2, 32, x, y, 64), Error);    // x too small for 64 tokens
  CHECK_THROWS_AS(vk.matmul(rec, DType::F32, w, 2, 2, 32, x, y, 8), Error);     // misaligned offset
  CHECK_THROWS_AS(vk.matmul(rec, DType::F32, w, 0, 2, 32, x, x, 8), Error);     // y aliases x
  CHECK_THROWS_AS(vk.matmul(rec, DType::I32, w, 0, 1, 32, x, y, 8), Error);     // unsupported type
  CHECK_THROWS_AS(vk.matmul(rec, DType::F32, w, 0, 2, 32, x, y, 0), Error);     // no tokens
  CHECK(rec.pending() == 0);
  CHECK_NO_VALIDATION_ERRORS();
}

#else

TEST_CASE("vulkan prefill ops", "[vulkan]") { UNICORN_SKIP("built without Vulkan (UNICORN_HAVE_VULKAN undefined)"); }

#endif
