// Batched (prefill) kernels of VulkanKernels: tiled mat-mul.
#include "hal/vk_kernels.h"

#ifdef UNICORN_HAVE_VULKAN
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"
#include "hal/vk_kernel_checks.h"

namespace unicorn::hal {

namespace {

const char* matmul_shader(DType t) {
  switch (t) {
    case DType::F32: return "matmul_f32";
    case DType::F16: return "matmul_f16";
    case DType::BF16: return "matmul_bf16";
    case DType::Q4_0: return "matmul_q4_0";
    case DType::Q8_0: return "matmul_q8_0";
    case DType::Q4_K: return "matmul_q4_k";
    case DType::Q5_K: return "matmul_q5_k";
    case DType::Q6_K: return "matmul_q6_k";
    default: return nullptr;
  }
}

struct MatmulPush {
  uint32_t rows, cols, row_bytes, w_offset, n_tokens;
};

struct AttnPrefillPush {
  uint32_t n_q, n_heads, n_kv_heads, pos, window;
  float scale, softcap;
};

struct AttnSplitPush {
  uint32_t n_heads, n_kv_heads, head_dim, kv_start, kv_len;
  float scale, softcap;
  uint32_t n_splits;
};
struct AttnCombinePush {
  uint32_t head_dim, n_splits;
};

// Register block of the matmul shader (TM x TN outputs per invocation; fixed in matmul_main.glsl).
constexpr uint32_t kMatmulTm = 4, kMatmulTn = 4;

// matmul_main.glsl's tile for batches of 48..63 tokens: 64 x 64 with 4 x 4 registers per invocation. With
// UNICORN_VK_MATMUL_TILE = "BM,BN,TM,TN" (tuning runs; BM, BN multiples of TM, TN; 32..1024 invocations; the tiles
// must fit the device's shared memory) that kernel and tile take every batch of 48 tokens or more, the wide kernel
// none.
struct MatmulTile {
  uint32_t bm = 64, bn = 64, tm = kMatmulTm, tn = kMatmulTn;
  bool set = false;  // from the environment: the wide kernel steps aside
};

const MatmulTile& matmul_tile() {
  static const MatmulTile tile = [] {
    MatmulTile t;
    const char* e = std::getenv("UNICORN_VK_MATMUL_TILE");
    if (e == nullptr || *e == '\0') return t;
    MatmulTile v;
    if (std::sscanf(e, "%u,%u,%u,%u", &v.bm, &v.bn, &v.tm, &v.tn) != 4 || v.tm == 0 || v.tn == 0 ||
        v.bm % v.tm != 0 || v.bn % v.tn != 0)
      throw Error(str_cat("UNICORN_VK_MATMUL_TILE='", e, "' is not BM,BN,TM,TN"));
    const uint32_t wg = (v.bm / v.tm) * (v.bn / v.tn);
    if (wg < 32 || wg > 1024 || v.tm * v.tn > 64)
      throw Error(str_cat("UNICORN_VK_MATMUL_TILE='", e, "': ", wg, " invocations or ", v.tm * v.tn, " registers"));
    v.set = true;
    return v;
  }();
  return tile;
}

// 128-token tiles need this many workgroups to fill a large GPU (~ the H200's 132 SMs); below it the columns are
// split or the tiles halved.
constexpr uint32_t kWideMinGroups = 96;

}  // namespace

bool VulkanKernels::matmul_split_supported(DType dtype) const {
  return ctx_.has_float_atomic_add() && (dtype == DType::Q4_K || dtype == DType::Q6_K);
}

bool VulkanKernels::narrow_as_matvec(uint32_t rows, uint32_t n_tokens) const {
  return n_tokens >= kMatmulWideTokens && rows <= kNarrowRows && narrow_matvec_ && wide_tile_ == WideTile::Auto &&
         !matmul_tile().set;
}

bool VulkanKernels::matmul_f16_math(DType dtype, uint32_t rows, uint32_t n_tokens) const {
  const bool quantized = dtype == DType::Q4_0 || dtype == DType::Q8_0 || dtype == DType::Q4_K ||
                         dtype == DType::Q5_K || dtype == DType::Q6_K;
  return f16_math_ && quantized && n_tokens >= kMatmulWideTokens && !matmul_tile().set &&
         !narrow_as_matvec(rows, n_tokens);
}

bool VulkanKernels::matmul_coop_matrix(DType dtype, uint32_t rows, uint32_t n_tokens) const {
  // matmul_cm_main.glsl's two tile buffers of 32 x 136 halves each for A and B (128-token tiles) plus its
  // 8 x 256-float staging area.
  constexpr uint32_t kCoopSharedBytes = 2 * (2 * 32 * 136 * 2) + 8 * 256 * 4;
  return coop_matrix_ && matmul_f16_math(dtype, rows, n_tokens) && wide_tile_ != WideTile::SplitK &&
         ctx_.properties().limits.maxComputeSharedMemorySize >= kCoopSharedBytes;
}

const ComputePipeline& VulkanKernels::spec_pipeline(const std::string& shader, uint32_t n_buffers,
                                                    uint32_t push_bytes, const std::vector<uint32_t>& spec) {
  std::string key = shader;
  for (uint32_t v : spec) key += str_cat("/", v);
  auto& slot = pipelines_[key];
  if (!slot) slot = std::make_unique<ComputePipeline>(ctx_, shader, n_buffers, push_bytes, spec);
  return *slot;
}

void VulkanKernels::matmul(CommandRecorder& rec, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows,
                           uint32_t cols, const GpuBuffer& x, const GpuBuffer& y, uint32_t n_tokens) {
  const char* shader = matmul_shader(dtype);
  if (shader == nullptr) fail("Vulkan matmul: unsupported weight type ", dtype_name(dtype));
  if (n_tokens == 0) fail("Vulkan matmul: no tokens");
  const uint64_t row_bytes = check_weights("matmul", dtype, w, w_offset, rows, cols);
  if (uint64_t(n_tokens) * std::max(rows, cols) > 0xffffffffull) fail("Vulkan matmul: activations exceed 2^32 floats");
  need_floats(x, uint64_t(n_tokens) * cols, "Vulkan matmul x");
  need_floats(y, uint64_t(n_tokens) * rows, "Vulkan matmul y");
  if (&x == &y || &w == &y) fail("Vulkan matmul: y aliases an input");
  const MatmulPush push{rows, cols, static_cast<uint32_t>(row_bytes), static_cast<uint32_t>(w_offset), n_tokens};
  // Narrow products of long batches (Gemma 3n's LAuReL and AltUp matrices, 4-64 rows): a 128-row tile would give
  // the GPU a handful of workgroups; per-token mat-vecs give it rows / 4 x n_tokens, the matrix staying in cache.
  if (narrow_as_matvec(rows, n_tokens)) {
    matvec(rec, dtype, w, w_offset, rows, cols, x, y, n_tokens);
    return;
  }
  // Long batches: the wide kernel (see the header for the choice of tiles).
  if (n_tokens >= kMatmulWideTokens && !matmul_tile().set) {
    const uint32_t groups_x = (rows + 127) / 128, groups_128 = groups_x * ((n_tokens + 127) / 128);
    WideTile tile = wide_tile_;
    if (tile == WideTile::Auto) {
      tile = groups_128 >= kWideMinGroups      ? WideTile::Tokens128
             : matmul_split_supported(dtype) ? WideTile::SplitK
                                             : WideTile::Tokens64;
    }
    const bool coop = matmul_coop_matrix(dtype, rows, n_tokens);
    if (coop && tile == WideTile::SplitK) tile = WideTile::Tokens64;
    if (tile == WideTile::SplitK && !matmul_split_supported(dtype)) tile = WideTile::Tokens128;
    const uint32_t tn_groups = tile == WideTile::Tokens64 ? 1 : 2, bn = 64 * tn_groups;
    const bool split = tile == WideTile::SplitK;
    const bool f16 = matmul_f16_math(dtype, rows, n_tokens);
    const std::string wide = coop    ? str_cat("matmul_cm", shader + 6)
                             : split ? str_cat("matmul_wide_split", shader + 6, f16 ? "_f16math" : "")
                                     : str_cat("matmul_wide", shader + 6, f16 ? "_f16math" : "");
    if (split) rec.fill(y, 0, uint64_t(n_tokens) * rows * 4, 0);
    rec.dispatch(spec_pipeline(wide, 3, sizeof(MatmulPush), {tn_groups}), {w, x, y}, push, groups_x,
                 (n_tokens + bn - 1) / bn, split ? 2 : 1,
                 coop ? (tn_groups == 2 ? "matmul_cm128" : "matmul_cm64")
                 : split ? "matmul_wide_split" : tn_groups == 2 ? "matmul_wide128" : "matmul_wide64");
    return;
  }
  // Tiles: 64 rows x 64 tokens (256 invocations) for real batches; 64 x 16 (64 invocations) for short ones, so a
  // handful of tokens does not pay for 64.
  uint32_t bm = 64, bn = n_tokens >= 48 ? 64 : 16, tm = kMatmulTm, tn = kMatmulTn;
  if (n_tokens >= 48) {
    const MatmulTile& t = matmul_tile();
    bm = t.bm, bn = t.bn, tm = t.tm, tn = t.tn;
    const uint64_t shared = 4ull * 32 * (bm + 1 + bn + 1);  // matmul_main.glsl's two padded tiles
    if (shared > ctx_.properties().limits.maxComputeSharedMemorySize)
      fail("Vulkan matmul: a ", bm, "x", bn, " tile needs ", shared, " bytes of shared memory, the device has ",
           ctx_.properties().limits.maxComputeSharedMemorySize);
  }
  const uint32_t wg = (bm / tm) * (bn / tn);
  const uint32_t groups_x = (rows + bm - 1) / bm, groups_y = (n_tokens + bn - 1) / bn;
  rec.dispatch(spec_pipeline(shader, 3, sizeof(MatmulPush), {wg, bm, bn, tm, tn}), {w, x, y}, push, groups_x, groups_y, 1,
               shader);
}

void VulkanKernels::attention_prefill(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache,
                                      const GpuBuffer& v_cache, const GpuBuffer& out, uint32_t n_q, uint32_t n_heads,
                                      uint32_t n_kv_heads, uint32_t head_dim, uint32_t pos, uint32_t window,
                                      float scale, float softcap) {
  if (n_q == 0 || n_heads == 0 || n_kv_heads == 0 || head_dim == 0 || n_heads % n_kv_heads != 0 || head_dim > 256) {
    fail("Vulkan prefill attention: bad shape (", n_q, " queries, ", n_heads, " heads, ", n_kv_heads,
         " kv heads, head_dim ", head_dim, ")");
  }
  if (!(softcap >= 0)) fail("Vulkan prefill attention: negative softcap");
  if (uint64_t(pos) + n_q > 0xffffffffull / (uint64_t(n_kv_heads) * head_dim)) {
    fail("Vulkan prefill attention: cache index exceeds 32 bits");
  }
  need_floats(q, uint64_t(n_q) * n_heads * head_dim, "Vulkan prefill attention q");
  need_floats(out, uint64_t(n_q) * n_heads * head_dim, "Vulkan prefill attention out");
  const uint64_t kv_floats = (uint64_t(pos) + n_q) * n_kv_heads * head_dim;
  need_kv(k_cache, kv_floats, "Vulkan prefill attention k cache");
  need_kv(v_cache, kv_floats, "Vulkan prefill attention v cache");
  if (&out == &q || &out == &k_cache || &out == &v_cache) fail("Vulkan prefill attention: out aliases an input");
  const AttnPrefillPush push{n_q, n_heads, n_kv_heads, pos, window, scale, softcap};
  const uint64_t shared_limit = ctx_.properties().limits.maxComputeSharedMemorySize;
  constexpr uint32_t kWg = 128;
  // attn_prefill_v2 (vec4 tiles, so head_dim % 4 == 0): 16 row groups of 8 lanes, 2 query rows per group (BQ 32)
  // up to head_dim 128 and 1 (BQ 16) above, where 2 rows' outputs would take 64 registers; key tile 32, halved
  // until the tiles fit the device's shared memory (head_dim 256: 16 keys within 48 KiB).
  if (!prefill_v1_ && head_dim % 4 == 0) {
    const uint32_t bq = head_dim <= 128 ? 32 : 16, hd4 = head_dim / 4;
    auto shared_v2 = [&](uint32_t kv) {
      return 16ull * bq * hd4 + 16ull * kv * (hd4 + 1) + 4ull * bq * (kv + 1) + 4ull * bq * 8;
    };
    uint32_t bkv = 32;
    while (bkv > 8 && shared_v2(bkv) > shared_limit) bkv /= 2;
    if (shared_v2(bkv) <= shared_limit) {
      rec.dispatch(spec_pipeline(kv_shader("attn_prefill_v2"), 4, sizeof(AttnPrefillPush), {kWg, bq, bkv, head_dim}),
                   {q, k_cache, v_cache, out}, push, (n_q + bq - 1) / bq, n_heads, 1, "attn_prefill_v2");
      return;
    }
  }
  // attn_prefill (v1; any head_dim): query block as many queries as 16 output registers per invocation allow
  // (<= 32); key tile 32, halved until the tiles fit the device's shared memory.
  constexpr uint32_t kOutMax = 16;
  uint32_t bq = 32;
  while (bq > 1 && bq * head_dim > kWg * kOutMax) bq /= 2;
  uint32_t bkv = 32;
  auto shared_bytes = [&](uint32_t kv) {
    return 4ull * (uint64_t(bq) * head_dim + uint64_t(kv) * (head_dim + 1) + uint64_t(bq) * kv + 2ull * bq);
  };
  while (bkv > 4 && shared_bytes(bkv) > shared_limit) bkv /= 2;
  if (shared_bytes(bkv) > shared_limit) fail("Vulkan prefill attention: head_dim ", head_dim, " needs more shared memory");
  rec.dispatch(spec_pipeline(kv_shader("attn_prefill"), 4, sizeof(AttnPrefillPush), {kWg, bq, bkv, head_dim}),
               {q, k_cache, v_cache, out}, push, (n_q + bq - 1) / bq, n_heads, 1, "attn_prefill");
}

void VulkanKernels::attention_decode_split(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache,
                                           const GpuBuffer& v_cache, const GpuBuffer& partials, const GpuBuffer& out,
                                           uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim,
                                           uint32_t kv_start, uint32_t kv_len, float scale, float softcap) {
  if (n_heads == 0 || n_kv_heads == 0 || head_dim == 0 || head_dim > 256 || kv_len == 0 ||
      n_heads % n_kv_heads != 0) {
    fail("Vulkan split-K attention: bad shape (", n_heads, " heads, ", n_kv_heads, " kv heads, head_dim ", head_dim,
         ", kv_len ", kv_len, ")");
  }
  if (!(softcap >= 0)) fail("Vulkan split-K attention: negative softcap");
  const uint64_t kv_floats = (uint64_t(kv_start) + kv_len) * n_kv_heads * head_dim;
  if (kv_floats > 0xffffffffull) fail("Vulkan split-K attention: cache index exceeds 32 bits");
  need_floats(q, uint64_t(n_heads) * head_dim, "Vulkan split-K attention q");
  need_floats(out, uint64_t(n_heads) * head_dim, "Vulkan split-K attention out");
  need_kv(k_cache, kv_floats, "Vulkan split-K attention k cache");
  need_kv(v_cache, kv_floats, "Vulkan split-K attention v cache");
  need_floats(partials, attention_decode_partials(n_heads, head_dim, kv_len), "Vulkan split-K attention partials");
  if (&out == &q || &out == &partials) fail("Vulkan split-K attention: out aliases an input");
  const uint32_t n_splits = attention_decode_splits(kv_len);
  constexpr uint32_t kWg = 128;
  const AttnSplitPush push{n_heads, n_kv_heads, head_dim, kv_start, kv_len, scale, softcap, n_splits};
  rec.dispatch(spec_pipeline(kv_shader("attn_split"), 4, sizeof(AttnSplitPush), {kWg, kDecodeChunk}),
               {q, k_cache, v_cache, partials}, push, n_splits, n_heads, 1, "attn_split");
  const AttnCombinePush cpush{head_dim, n_splits};
  rec.dispatch(pipeline("attn_split_combine", 2, sizeof(AttnCombinePush), kWg), {partials, out}, cpush, n_heads, 1,
               1, "attn_split_combine");
}

}  // namespace unicorn::hal
#endif
