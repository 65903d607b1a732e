#include "hal/vk_kernels.h"

#ifdef UNICORN_HAVE_VULKAN
#include <algorithm>
#include <cstdlib>

#include "base/error.h"
#include "hal/vk_kernel_checks.h"

namespace unicorn::hal {

namespace {

// Workgroup sizes: row reductions share one row among the workgroup; element-wise ops take one element each.
constexpr uint32_t kMatvecWorkgroup = 64;
constexpr uint32_t kDotRows = 4;  // rows (32-lane slices) per workgroup of matvec_q8_0_dot
constexpr uint32_t kMatvecRows = 4;
constexpr uint32_t kRowWorkgroup = 128;
constexpr uint32_t kElementWorkgroup = 256;

const char* matvec_shader(DType t) {
  switch (t) {
    case DType::F32: return "matvec_f32";
    case DType::F16: return "matvec_f16";
    case DType::BF16: return "matvec_bf16";
    case DType::Q4_0: return "matvec_q4_0";
    case DType::Q8_0: return "matvec_q8_0";
    case DType::Q4_K: return "matvec_q4_k";
    case DType::Q5_K: return "matvec_q5_k";
    case DType::Q6_K: return "matvec_q6_k";
    default: return nullptr;
  }
}



uint32_t groups_for(uint32_t n, uint32_t wg) { return (n + wg - 1) / wg; }

// One workgroup per row: wide rows (a hidden state) take 512 invocations so each loads only a few elements;
// head-sized rows keep kRowWorkgroup.
uint32_t row_workgroup(uint32_t n) { return n >= 1024 ? 512 : kRowWorkgroup; }

struct MatvecPush {
  uint32_t rows, cols, row_bytes, w_offset;
};
struct RmsPush {
  uint32_t n;
  float eps;
  uint32_t mode;
};
struct SoftmaxPush {
  uint32_t n;
};
struct GluPush {
  uint32_t n, mode, row, up_stride, up_offset;
};
struct BinaryPush {
  uint32_t n, b_len, mode;
};
struct RopePush {
  uint32_t n_heads, head_dim, interleaved, cs_offset, n_tokens;
};

struct UnaryPush {
  uint32_t n, mode;
  float param;
};
struct AttnPush {
  uint32_t n_heads, n_kv_heads, head_dim, kv_start, kv_len;
  float scale, softcap;
};
struct KvStorePush {
  uint32_t n_heads, head_dim, interleaved, cs_offset, n_tokens, dst;
};
struct AddRmsPush {
  uint32_t n;
  float eps;
  uint32_t post_mode, mode, d2_mode, has_d3;
  float scale;
};
struct RopeStorePush {
  uint32_t n_heads, n_kv_heads, head_dim, interleaved, cs_offset, dst, q_norm, k_norm, v_norm;
  float eps;
};
struct MatvecAnyPush {
  uint32_t rows, cols;
};
struct TopkPush {
  uint32_t n;
  float multiplier;
};
struct RmsMatchPush {
  uint32_t n;
};
struct AltupPredictPush {
  uint32_t n_streams, hidden, n_tokens, stride;
};
struct AltupCorrectPush {
  uint32_t n_streams, hidden, n_tokens, stride, active;
};
struct AltupEnterPush {
  uint32_t n_streams, hidden, stride, active;
  float eps;
  uint32_t pl_mode, predict, mode;
};
struct AltupExitPush {
  uint32_t n_streams, hidden, stride, active;
  float eps;
  uint32_t post_mode, has_out_scale;
};
struct StreamsAddPush {
  uint32_t n_streams, first, n, stride;
};
struct AttnRowsPush {
  uint32_t n_heads, n_kv_heads, head_dim, q_pos0, window;
  float scale, softcap;
};

}  // namespace

VulkanKernels::VulkanKernels(const VulkanContext& ctx) : ctx_(ctx) {
  const char* e = std::getenv("UNICORN_VK_F16_MATH");
  set_matmul_f16_math(e == nullptr || std::string(e) != "0");
  if (const char* n = std::getenv("UNICORN_VK_NARROW_MATVEC")) narrow_matvec_ = std::string(n) != "0";
  if (const char* ps = std::getenv("UNICORN_VK_PROFILE_SHAPES")) profile_shapes_ = std::string(ps) == "1";
  // Tests: UNICORN_VK_MAX_GROUPS_X=N caps the x extent of row and element grids (set_max_groups_x).
  if (const char* g = std::getenv("UNICORN_VK_MAX_GROUPS_X")) set_max_groups_x(static_cast<uint32_t>(std::atoi(g)));
  coop_matrix_ = ctx_.coop_matrix() != CoopMatrix::None;
  const char* int_dot = std::getenv("UNICORN_VK_INT_DOT");
  set_matvec_int_dot(int_dot == nullptr || std::string(int_dot) != "0");
  // UNICORN_VK_WIDE_TILE=128|64|split forces one wide-kernel tiling (A/B runs; unset = the automatic choice).
  if (const char* t = std::getenv("UNICORN_VK_WIDE_TILE")) {
    const std::string v = t;
    if (v == "128") wide_tile_ = WideTile::Tokens128;
    else if (v == "64") wide_tile_ = WideTile::Tokens64;
    else if (v == "split") wide_tile_ = WideTile::SplitK;
    else fail("UNICORN_VK_WIDE_TILE='", v, "': expected 128, 64 or split");
  }
  // UNICORN_VK_ATTN_PREFILL_V1=1: the scalar prefill attention kernel instead of attn_prefill_v2 (A/B runs).
  if (const char* a = std::getenv("UNICORN_VK_ATTN_PREFILL_V1")) set_attention_prefill_v1(std::string(a) == "1");
}
VulkanKernels::~VulkanKernels() = default;

bool VulkanKernels::matvec_supports(DType t) { return matvec_shader(t) != nullptr; }

const ComputePipeline& VulkanKernels::pipeline(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                                               uint32_t workgroup_size) {
  auto& slot = pipelines_[shader];
  if (!slot) slot = std::make_unique<ComputePipeline>(ctx_, shader, n_buffers, push_bytes, workgroup_size);
  return *slot;
}

void VulkanKernels::matvec(CommandRecorder& rec, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows,
                           uint32_t cols, const GpuBuffer& x, const GpuBuffer& y, uint32_t n_tokens) {
  const char* shader = matvec_shader(dtype);
  if (shader == nullptr) fail("Vulkan matvec: unsupported weight type ", dtype_name(dtype));
  // Profile label: the type's mat-vec, with the matrix shape when UNICORN_VK_PROFILE_SHAPES=1 (so --profile tells an
  // LM head from the layers' projections of the same type).
  const std::string label = profile_shapes_ ? str_cat(shader, " ", rows, "x", cols) : std::string(shader);
  if (n_tokens == 0) fail("Vulkan matvec: no tokens");
  const uint64_t row_bytes = check_weights("matvec", dtype, w, w_offset, rows, cols);
  need_floats(x, uint64_t(n_tokens) * cols, "Vulkan matvec x");
  need_floats(y, uint64_t(n_tokens) * rows, "Vulkan matvec y");
  const MatvecPush push{rows, cols, static_cast<uint32_t>(row_bytes), static_cast<uint32_t>(w_offset)};
  // Q8_0 on integer dot products: each workgroup rounds x to int8 in shared memory (cols * 9 / 8 bytes), then one
  // 32-lane slice per row.
  const auto x_fits_shared = [&] {  // x's int8 blocks plus wg_partial (common.glsl)
    return uint64_t(cols) / 32 * 9 * 4 + 4 * 32 * kDotRows <= ctx_.properties().limits.maxComputeSharedMemorySize;
  };
  if (matvec_int_dot(dtype, cols) && w_offset % 2 == 0 && x_fits_shared()) {
    dispatch_linear(rec, spec_pipeline("matvec_q8_0_dot", 3, sizeof(MatvecPush), {32 * kDotRows, kDotRows, cols / 32}),
                  {w, x, y}, push, groups_for(rows, kDotRows), n_tokens, profile_shapes_ ? label : "matvec_q8_0_dot");
    return;
  }
  // Q4_K / Q6_K (the bulk of a Q4_K_M model): one 32-invocation slice per row, kSgRows rows per workgroup, each
  // lane reading its super-blocks' quant bytes as 16 (Q4_K: one uvec4) or 24 (Q6_K: 8-byte runs) bytes per block,
  // two blocks in flight (matvec_q4_k_sg / matvec_q6_k_sg). Q4_K's uvec4 loads need a 16-byte aligned matrix.
  if ((dtype == DType::Q4_K || dtype == DType::Q6_K) && cols % 256 == 0) {
    constexpr uint32_t kSgRows = 4;  // 2 and 8 measured the same on the H200 (docs/PERFORMANCE.md)
    const uint32_t groups = groups_for(rows, kSgRows);
    const bool aligned = dtype == DType::Q6_K || w_offset % 16 == 0;
    if (aligned) {
      const char* sg = dtype == DType::Q4_K ? "matvec_q4_k_sg" : "matvec_q6_k_sg";
      const ComputePipeline& p = spec_pipeline(sg, 3, sizeof(MatvecPush), {32 * kSgRows, kSgRows});
      dispatch_linear(rec, p, {w, x, y}, push, groups, n_tokens, label);
      return;
    }
    // Otherwise (Q4_K not 16-byte aligned) one workgroup of 256 per row (matvec_rowsg_main.glsl).
    const char* rowsg = dtype == DType::Q4_K ? "matvec_q4_k_rowsg" : "matvec_q6_k_rowsg";
    constexpr uint32_t kRowWorkgroup256 = 256;
    const ComputePipeline& p = pipeline(rowsg, 3, sizeof(MatvecPush), kRowWorkgroup256);
    dispatch_linear(rec, p, {w, x, y}, push, rows, n_tokens, label);
    return;
  }
  // F32 (Gemma 3n's small matrices): 32 lanes per row reading vec4s, when the rows allow vec4 addressing.
  if (dtype == DType::F32 && cols % 4 == 0 && w_offset % 16 == 0) {
    constexpr uint32_t kSgRows = 4;
    const ComputePipeline& p = spec_pipeline("matvec_f32_sg", 3, sizeof(MatvecPush), {32 * kSgRows, kSgRows});
    dispatch_linear(rec, p, {w, x, y}, push, groups_for(rows, kSgRows), n_tokens, label);
    return;
  }
  // kMatvecRows rows per workgroup (matvec_main.glsl's ROWS): each chunk of x is loaded once for all of them.
  const ComputePipeline& p = spec_pipeline(shader, 3, sizeof(MatvecPush), {kMatvecWorkgroup, kMatvecRows});
  dispatch_linear(rec, p, {w, x, y}, push, groups_for(rows, kMatvecRows), n_tokens, label);
}

void VulkanKernels::get_rows(CommandRecorder& rec, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows,
                             uint32_t cols, const GpuBuffer& ids, uint32_t n_ids, const GpuBuffer& out) {
  const char* mv = matvec_shader(dtype);
  if (mv == nullptr) fail("Vulkan get_rows: unsupported weight type ", dtype_name(dtype));
  if (n_ids == 0) fail("Vulkan get_rows: no ids");
  const uint64_t row_bytes = check_weights("get_rows", dtype, w, w_offset, rows, cols);
  if (ids.size() < uint64_t(n_ids) * sizeof(uint32_t)) fail("Vulkan get_rows: ids buffer too small");
  need_floats(out, uint64_t(n_ids) * cols, "Vulkan get_rows out");
  const std::string shader = std::string("get_rows") + (mv + 6);  // "matvec_q4_k" -> "get_rows_q4_k"
  const MatvecPush push{rows, cols, static_cast<uint32_t>(row_bytes), static_cast<uint32_t>(w_offset)};
  rec.dispatch(pipeline(shader, 3, sizeof(MatvecPush), kMatvecWorkgroup), {w, ids, out}, push, n_ids, 1, 1, shader);
}

void VulkanKernels::rmsnorm(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer* w, const GpuBuffer& out,
                            uint32_t n, uint32_t n_rows, float eps, RmsWeight mode) {
  if (n == 0 || n_rows == 0) fail("Vulkan rmsnorm: empty shape");
  need_floats(x, uint64_t(n) * n_rows, "Vulkan rmsnorm x");
  need_floats(out, uint64_t(n) * n_rows, "Vulkan rmsnorm out");
  if (mode != RmsWeight::None) {
    if (w == nullptr) fail("Vulkan rmsnorm: weight mode without a weight buffer");
    need_floats(*w, n, "Vulkan rmsnorm weight");
  }
  const RmsPush push{n, eps, static_cast<uint32_t>(mode)};
  const ComputePipeline& p = spec_pipeline("rmsnorm", 3, sizeof(RmsPush), {row_workgroup(n)});
  rec.dispatch(p, {x, mode == RmsWeight::None ? x : *w, out}, push, n_rows);
}

void VulkanKernels::add_rmsnorm(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& d, const GpuBuffer* post_w,
                                RmsWeight post_mode, const GpuBuffer& w, RmsWeight mode, const GpuBuffer& out,
                                uint32_t n, uint32_t n_rows, float eps, const MoreAddends& more) {
  if (n == 0 || n_rows == 0) fail("Vulkan add_rmsnorm: empty shape");
  const uint64_t total = uint64_t(n) * n_rows;
  need_floats(x, total, "Vulkan add_rmsnorm x");
  need_floats(d, total, "Vulkan add_rmsnorm d");
  need_floats(out, total, "Vulkan add_rmsnorm out");
  if (mode != RmsWeight::None) need_floats(w, n, "Vulkan add_rmsnorm weight");
  // A post-norm always has a weight (no model needs one without), so post mode 0 can mean "no post-norm".
  if ((post_w != nullptr || more.d2 != nullptr) && post_mode == RmsWeight::None)
    fail("Vulkan add_rmsnorm: post-norm without a weight mode");
  if (post_w != nullptr) need_floats(*post_w, n, "Vulkan add_rmsnorm post weight");
  if (more.d2 != nullptr) {
    if (more.d2_w == nullptr) fail("Vulkan add_rmsnorm: d2 without its norm weight");
    need_floats(*more.d2, total, "Vulkan add_rmsnorm d2");
    need_floats(*more.d2_w, n, "Vulkan add_rmsnorm d2 weight");
  }
  if (more.d3 != nullptr) need_floats(*more.d3, total, "Vulkan add_rmsnorm d3");
  const uint32_t pm = static_cast<uint32_t>(post_mode);
  const AddRmsPush push{n,
                        eps,
                        post_w != nullptr ? pm : 0u,
                        static_cast<uint32_t>(mode),
                        more.d2 != nullptr ? pm : 0u,
                        more.d3 != nullptr ? 1u : 0u,
                        more.scale};
  const ComputePipeline& p = spec_pipeline("add_rmsnorm", 8, sizeof(AddRmsPush), {row_workgroup(n)});
  rec.dispatch(p,
               {x, d, post_w != nullptr ? *post_w : d, more.d2 != nullptr ? *more.d2 : d,
                more.d2_w != nullptr ? *more.d2_w : d, more.d3 != nullptr ? *more.d3 : d, w, out},
               push, n_rows);
}

void VulkanKernels::softmax(CommandRecorder& rec, const GpuBuffer& x, uint32_t n, uint32_t n_rows) {
  if (n == 0 || n_rows == 0) fail("Vulkan softmax: empty shape");
  need_floats(x, uint64_t(n) * n_rows, "Vulkan softmax x");
  const SoftmaxPush push{n};
  rec.dispatch(pipeline("softmax", 1, sizeof(SoftmaxPush), kRowWorkgroup), {x}, push, n_rows);
}

void VulkanKernels::glu(CommandRecorder& rec, const GpuBuffer& gate, const GpuBuffer& up, const GpuBuffer& out,
                        uint32_t n, GluActivation act) {
  glu_strided(rec, gate, up, out, n, act, n, n, 0);
}

void VulkanKernels::glu_strided(CommandRecorder& rec, const GpuBuffer& gate, const GpuBuffer& up, const GpuBuffer& out,
                                uint32_t n, GluActivation act, uint32_t row, uint32_t up_stride, uint32_t up_offset) {
  if (n == 0 || row == 0 || n % row != 0 || up_stride < row) fail("Vulkan glu: bad shape n=", n, " row=", row);
  need_floats(gate, n, "Vulkan glu gate");
  need_floats(up, uint64_t(up_offset) + uint64_t(n / row - 1) * up_stride + row, "Vulkan glu up");
  need_floats(out, n, "Vulkan glu out");
  const GluPush push{n, static_cast<uint32_t>(act), row, up_stride, up_offset};
  dispatch_linear(rec, pipeline("glu", 3, sizeof(GluPush), kElementWorkgroup), {gate, up, out}, push,
                groups_for(n, kElementWorkgroup), 1, {});
}

void VulkanKernels::binary(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out,
                           uint32_t n, uint32_t b_len, uint32_t mode) {
  if (n == 0 || b_len == 0 || b_len > n) fail("Vulkan add/mul: bad sizes n=", n, " b_len=", b_len);
  need_floats(a, n, "Vulkan add/mul a");
  need_floats(b, b_len, "Vulkan add/mul b");
  need_floats(out, n, "Vulkan add/mul out");
  const BinaryPush push{n, b_len, mode};
  dispatch_linear(rec, pipeline("binary", 3, sizeof(BinaryPush), kElementWorkgroup), {a, b, out}, push,
                groups_for(n, kElementWorkgroup), 1, {});
}

void VulkanKernels::add(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out,
                        uint32_t n, uint32_t b_len) {
  binary(rec, a, b, out, n, b_len, 0);
}

void VulkanKernels::mul(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out,
                        uint32_t n, uint32_t b_len) {
  binary(rec, a, b, out, n, b_len, 1);
}

void VulkanKernels::rope(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& cos_sin, uint32_t cs_offset,
                         uint32_t n_heads, uint32_t head_dim, bool interleaved, uint32_t n_tokens) {
  if (n_heads == 0 || head_dim == 0 || head_dim % 2 != 0 || n_tokens == 0) fail("Vulkan rope: bad head shape");
  need_floats(x, uint64_t(n_tokens) * n_heads * head_dim, "Vulkan rope x");
  need_floats(cos_sin, uint64_t(cs_offset) + uint64_t(n_tokens) * head_dim, "Vulkan rope cos/sin");
  const RopePush push{n_heads, head_dim, interleaved ? 1u : 0u, cs_offset, n_tokens};
  dispatch_linear(rec, pipeline("rope", 2, sizeof(RopePush), kElementWorkgroup), {x, cos_sin}, push,
                groups_for(n_tokens * n_heads * head_dim / 2, kElementWorkgroup), 1, {});
}

void VulkanKernels::unary(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& out, uint32_t n, UnaryOp op,
                          float param) {
  if (n == 0) fail("Vulkan unary op: empty");
  if (op == UnaryOp::SoftCap && !(param > 0)) fail("Vulkan soft-cap: cap must be > 0, got ", param);
  need_floats(x, n, "Vulkan unary x");
  need_floats(out, n, "Vulkan unary out");
  const UnaryPush push{n, static_cast<uint32_t>(op), param};
  dispatch_linear(rec, pipeline("unary", 2, sizeof(UnaryPush), kElementWorkgroup), {x, out}, push,
                groups_for(n, kElementWorkgroup), 1, {});
}

void VulkanKernels::set_kv_f16(bool f16) {
  if (f16 && !ctx_.has_16bit_storage())
    fail(ctx_.device_name(), ": no 16-bit storage-buffer access, so no F16 KV cache on this device");
  kv_f16_ = f16;
}

void VulkanKernels::need_kv(const GpuBuffer& b, uint64_t n, const char* what) const {
  const uint64_t elem = kv_f16_ ? 2 : 4;
  if (b.size() < n * elem)
    fail(what, ": buffer of ", b.size(), " bytes holds fewer than ", n, kv_f16_ ? " F16" : " F32", " elements");
}

void VulkanKernels::attention_decode(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache,
                                     const GpuBuffer& v_cache, const GpuBuffer& scores, const GpuBuffer& out,
                                     uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t kv_start,
                                     uint32_t kv_len, float scale, float softcap) {
  if (n_heads == 0 || n_kv_heads == 0 || head_dim == 0 || kv_len == 0 || n_heads % n_kv_heads != 0) {
    fail("Vulkan attention: bad shape (", n_heads, " heads, ", n_kv_heads, " kv heads, head_dim ", head_dim,
         ", kv_len ", kv_len, ")");
  }
  if (softcap < 0) fail("Vulkan attention: negative softcap");
  need_floats(q, uint64_t(n_heads) * head_dim, "Vulkan attention q");
  need_floats(out, uint64_t(n_heads) * head_dim, "Vulkan attention out");
  const uint64_t kv_floats = (uint64_t(kv_start) + kv_len) * n_kv_heads * head_dim;
  need_kv(k_cache, kv_floats, "Vulkan attention k cache");
  need_kv(v_cache, kv_floats, "Vulkan attention v cache");
  need_floats(scores, uint64_t(n_heads) * kv_len, "Vulkan attention scores");
  const AttnPush push{n_heads, n_kv_heads, head_dim, kv_start, kv_len, scale, softcap};
  // vec4 reads and the value sum split over the workgroup when the head allows it (every model's head_dim does).
  // Wide heads get a wider workgroup so that the value sum still has 16 key groups (Gemma 3n's 256: 1024 lanes).
  uint32_t decode_wg = 256;
  const uint32_t max_wg = ctx_.properties().limits.maxComputeWorkGroupInvocations;
  while (decode_wg < 1024 && decode_wg * 2 <= max_wg && decode_wg / std::max<uint32_t>(1, head_dim / 4) < 16)
    decode_wg *= 2;
  if (head_dim % 4 == 0 && head_dim <= 4 * decode_wg) {
    rec.dispatch(spec_pipeline(kv_shader("attn_decode_v4"), 5, sizeof(AttnPush), {decode_wg}),
                 {q, k_cache, v_cache, scores, out}, push, n_heads, 1, 1, "attn_decode");
    return;
  }
  rec.dispatch(pipeline(kv_shader("attn_decode"), 5, sizeof(AttnPush), kRowWorkgroup),
               {q, k_cache, v_cache, scores, out}, push, n_heads, 1, 1, "attn_decode");
}

void VulkanKernels::attention_rows(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache,
                                   const GpuBuffer& v_cache, const GpuBuffer& scores, const GpuBuffer& out,
                                   uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t q_pos0,
                                   uint32_t n_queries, uint32_t window, float scale, float softcap) {
  if (n_heads == 0 || n_kv_heads == 0 || head_dim == 0 || n_queries == 0 || n_heads % n_kv_heads != 0) {
    fail("Vulkan prefill attention: bad shape (", n_heads, " heads, ", n_kv_heads, " kv heads, head_dim ", head_dim,
         ", ", n_queries, " queries)");
  }
  if (softcap < 0) fail("Vulkan prefill attention: negative softcap");
  const uint64_t q_floats = uint64_t(n_queries) * n_heads * head_dim;
  need_floats(q, q_floats, "Vulkan prefill attention q");
  need_floats(out, q_floats, "Vulkan prefill attention out");
  const uint64_t total = uint64_t(q_pos0) + n_queries;
  need_kv(k_cache, total * n_kv_heads * head_dim, "Vulkan prefill attention k cache");
  need_kv(v_cache, total * n_kv_heads * head_dim, "Vulkan prefill attention v cache");
  need_floats(scores, uint64_t(n_queries) * n_heads * total, "Vulkan prefill attention scores");
  const AttnRowsPush push{n_heads, n_kv_heads, head_dim, q_pos0, window, scale, softcap};
  rec.dispatch(pipeline(kv_shader("attn_rows"), 5, sizeof(AttnRowsPush), kRowWorkgroup),
               {q, k_cache, v_cache, scores, out}, push, n_heads, n_queries, 1, "attn_rows");
}

void VulkanKernels::kv_store(CommandRecorder& rec, const GpuBuffer& k, const GpuBuffer& v, const GpuBuffer& cos_sin,
                             uint32_t cs_offset, uint32_t n_kv_heads, uint32_t head_dim, bool interleaved,
                             uint32_t n_tokens, const GpuBuffer& k_cache, const GpuBuffer& v_cache,
                             uint32_t position) {
  if (n_kv_heads == 0 || head_dim == 0 || head_dim % 2 != 0 || n_tokens == 0) fail("Vulkan kv_store: bad shape");
  const uint64_t row = uint64_t(n_kv_heads) * head_dim;
  need_floats(k, n_tokens * row, "Vulkan kv_store k");
  need_floats(v, n_tokens * row, "Vulkan kv_store v");
  need_floats(cos_sin, uint64_t(cs_offset) + uint64_t(n_tokens) * head_dim, "Vulkan kv_store cos/sin");
  need_kv(k_cache, (uint64_t(position) + n_tokens) * row, "Vulkan kv_store k cache");
  need_kv(v_cache, (uint64_t(position) + n_tokens) * row, "Vulkan kv_store v cache");
  const uint64_t dst = uint64_t(position) * row;
  if (dst > 0xffffffffull) fail("Vulkan kv_store: cache offset past 2^32 floats");
  const KvStorePush push{n_kv_heads, head_dim, interleaved ? 1u : 0u, cs_offset, n_tokens, static_cast<uint32_t>(dst)};
  dispatch_linear(rec, pipeline(kv_shader("kv_store"), 5, sizeof(KvStorePush), kElementWorkgroup),
                {k, v, cos_sin, k_cache, v_cache}, push,
                groups_for(n_tokens * n_kv_heads * head_dim / 2, kElementWorkgroup), 1, {});
}

void VulkanKernels::rope_store(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k, const GpuBuffer& v,
                               const GpuBuffer& cos_sin, uint32_t cs_offset, uint32_t n_heads, uint32_t n_kv_heads,
                               uint32_t head_dim, bool interleaved, uint32_t n_tokens, const GpuBuffer& k_cache,
                               const GpuBuffer& v_cache, uint32_t position, const HeadNorms& norms) {
  if (n_heads == 0 || head_dim == 0 || head_dim % 2 != 0 || n_tokens == 0) fail("Vulkan rope_store: bad shape");
  need_floats(q, uint64_t(n_tokens) * n_heads * head_dim, "Vulkan rope_store q");
  need_floats(cos_sin, uint64_t(cs_offset) + uint64_t(n_tokens) * head_dim, "Vulkan rope_store cos/sin");
  const uint64_t row = uint64_t(n_kv_heads) * head_dim;
  if (n_kv_heads > 0) {
    need_floats(k, n_tokens * row, "Vulkan rope_store k");
    need_floats(v, n_tokens * row, "Vulkan rope_store v");
    need_kv(k_cache, (uint64_t(position) + n_tokens) * row, "Vulkan rope_store k cache");
    need_kv(v_cache, (uint64_t(position) + n_tokens) * row, "Vulkan rope_store v cache");
  }
  const uint64_t dst = uint64_t(position) * row;
  if (dst + n_tokens * row > 0xffffffffull) fail("Vulkan rope_store: cache offset past 2^32 floats");
  auto head_mode = [&](const GpuBuffer* w) {
    if (w == nullptr) return 0u;
    need_floats(*w, head_dim, "Vulkan rope_store norm weight");
    return norms.mode == RmsWeight::None ? 3u : static_cast<uint32_t>(norms.mode);
  };
  const RopeStorePush push{n_heads,        n_kv_heads,           head_dim,
                           interleaved ? 1u : 0u, cs_offset,     static_cast<uint32_t>(dst),
                           head_mode(norms.q_w), head_mode(norms.k_w), norms.v_norm ? 1u : 0u,
                           norms.eps};
  constexpr uint32_t kHeadWorkgroup = 64;
  const ComputePipeline& p = spec_pipeline(kv_shader("rope_store"), 8, sizeof(RopeStorePush), {kHeadWorkgroup});
  rec.dispatch(p,
               {q, n_kv_heads > 0 ? k : q, n_kv_heads > 0 ? v : q, cos_sin, norms.q_w ? *norms.q_w : q,
                norms.k_w ? *norms.k_w : q, n_kv_heads > 0 ? k_cache : q, n_kv_heads > 0 ? v_cache : q},
               push, n_heads + n_kv_heads, n_tokens);
}

bool VulkanKernels::matvec_glu_supports(DType gate, DType up, uint32_t cols) {
  return gate == DType::Q4_K && up == DType::Q4_K && cols % 256 == 0;
}

void VulkanKernels::matvec_glu(CommandRecorder& rec, DType dtype, const GpuBuffer& gate, const GpuBuffer& up,
                               uint32_t rows, uint32_t cols, const GpuBuffer& x, const GpuBuffer& y,
                               uint32_t n_tokens, GluActivation act) {
  if (!matvec_glu_supports(dtype, dtype, cols)) fail("Vulkan matvec_glu: needs Q4_K with cols % 256 == 0");
  if (n_tokens == 0) fail("Vulkan matvec_glu: no tokens");
  const uint64_t row_bytes = check_weights("matvec_glu gate", dtype, gate, 0, rows, cols);
  check_weights("matvec_glu up", dtype, up, 0, rows, cols);
  need_floats(x, uint64_t(n_tokens) * cols, "Vulkan matvec_glu x");
  need_floats(y, uint64_t(n_tokens) * rows, "Vulkan matvec_glu y");
  constexpr uint32_t kGluRows = 4;
  const MatvecPush push{rows, cols, static_cast<uint32_t>(row_bytes), 0};
  const ComputePipeline& p = spec_pipeline("matvec_q4_k_glu", 4, sizeof(MatvecPush),
                                           {32 * kGluRows, kGluRows, static_cast<uint32_t>(act)});
  dispatch_linear(rec, p, {gate, up, x, y}, push, groups_for(rows, kGluRows), n_tokens, "matvec_q4_k_glu");
}

void VulkanKernels::matvec_f32_any(CommandRecorder& rec, const GpuBuffer& w, uint32_t rows, uint32_t cols,
                                   const GpuBuffer& x, const GpuBuffer& y, uint32_t n_tokens) {
  if (rows == 0 || cols == 0 || n_tokens == 0) fail("Vulkan matvec_f32_any: empty shape");
  need_floats(w, uint64_t(rows) * cols, "Vulkan matvec_f32_any w");
  need_floats(x, uint64_t(n_tokens) * cols, "Vulkan matvec_f32_any x");
  need_floats(y, uint64_t(n_tokens) * rows, "Vulkan matvec_f32_any y");
  const MatvecAnyPush push{rows, cols};
  dispatch_linear(rec, pipeline("matvec_f32_any", 3, sizeof(MatvecAnyPush), kMatvecWorkgroup), {w, x, y}, push, rows,
                n_tokens, "matvec_f32_any");
}

void VulkanKernels::gaussian_topk(CommandRecorder& rec, const GpuBuffer& x, uint32_t n, uint32_t n_rows,
                                  float multiplier) {
  if (n == 0 || n_rows == 0) fail("Vulkan gaussian_topk: empty shape");
  need_floats(x, uint64_t(n) * n_rows, "Vulkan gaussian_topk x");
  const TopkPush push{n, multiplier};
  rec.dispatch(pipeline("gaussian_topk", 1, sizeof(TopkPush), kRowWorkgroup), {x}, push, n_rows);
}

void VulkanKernels::rms_match(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& ref, uint32_t n,
                              uint32_t n_rows) {
  if (n == 0 || n_rows == 0) fail("Vulkan rms_match: empty shape");
  need_floats(x, uint64_t(n) * n_rows, "Vulkan rms_match x");
  need_floats(ref, uint64_t(n) * n_rows, "Vulkan rms_match ref");
  const RmsMatchPush push{n};
  rec.dispatch(pipeline("rms_match", 2, sizeof(RmsMatchPush), kRowWorkgroup), {x, ref}, push, n_rows);
}

void VulkanKernels::altup_predict(CommandRecorder& rec, const GpuBuffer& streams, const GpuBuffer& mod,
                                  const GpuBuffer& predict, const GpuBuffer& pred, uint32_t n_streams,
                                  uint32_t hidden, uint32_t n_tokens, uint32_t stride) {
  if (n_streams == 0 || hidden == 0 || n_tokens == 0 || stride < n_tokens * hidden)
    fail("Vulkan altup_predict: bad shape");
  need_floats(streams, uint64_t(n_streams) * stride, "Vulkan altup_predict streams");
  need_floats(pred, uint64_t(n_streams) * stride, "Vulkan altup_predict pred");
  need_floats(mod, uint64_t(n_tokens) * n_streams, "Vulkan altup_predict mod");
  need_floats(predict, uint64_t(n_streams) * n_streams * n_streams, "Vulkan altup_predict coefficients");
  const AltupPredictPush push{n_streams, hidden, n_tokens, stride};
  dispatch_linear(rec, pipeline("altup_predict", 4, sizeof(AltupPredictPush), kElementWorkgroup),
                {streams, mod, predict, pred}, push, groups_for(n_tokens * hidden, kElementWorkgroup), 1, {});
}

void VulkanKernels::altup_correct(CommandRecorder& rec, const GpuBuffer& pred, const GpuBuffer& act,
                                  const GpuBuffer& mod, const GpuBuffer& correct, const GpuBuffer& streams,
                                  uint32_t n_streams, uint32_t hidden, uint32_t n_tokens, uint32_t stride,
                                  uint32_t active) {
  if (n_streams == 0 || hidden == 0 || n_tokens == 0 || stride < n_tokens * hidden || active >= n_streams)
    fail("Vulkan altup_correct: bad shape");
  need_floats(pred, uint64_t(n_streams) * stride, "Vulkan altup_correct pred");
  need_floats(streams, uint64_t(n_streams) * stride, "Vulkan altup_correct streams");
  need_floats(act, uint64_t(n_tokens) * hidden, "Vulkan altup_correct act");
  need_floats(mod, uint64_t(n_tokens) * n_streams, "Vulkan altup_correct mod");
  need_floats(correct, uint64_t(n_streams) * n_streams, "Vulkan altup_correct coefficients");
  const AltupCorrectPush push{n_streams, hidden, n_tokens, stride, active};
  dispatch_linear(rec, pipeline("altup_correct", 5, sizeof(AltupCorrectPush), kElementWorkgroup),
                {pred, act, mod, correct, streams}, push, groups_for(n_tokens * hidden, kElementWorkgroup), 1, {});
}

void VulkanKernels::add_to_streams(CommandRecorder& rec, const GpuBuffer& streams, const GpuBuffer& x,
                                   uint32_t n_streams, uint32_t first, uint32_t n, uint32_t stride) {
  if (n == 0 || first >= n_streams || stride < n) fail("Vulkan add_to_streams: bad shape");
  need_floats(streams, uint64_t(n_streams) * stride, "Vulkan add_to_streams streams");
  need_floats(x, n, "Vulkan add_to_streams x");
  const StreamsAddPush push{n_streams, first, n, stride};
  dispatch_linear(rec, pipeline("add_to_streams", 2, sizeof(StreamsAddPush), kElementWorkgroup), {streams, x}, push,
                groups_for(n, kElementWorkgroup), 1, {});
}

namespace {
void check_streams(const VulkanKernels::Streams& s, const char* op) {
  if (s.streams == nullptr || s.n_streams == 0 || s.n_streams > VulkanKernels::kMaxStreams || s.hidden == 0 ||
      s.n_tokens == 0 || s.stride < s.n_tokens * s.hidden || s.active >= s.n_streams)
    fail("Vulkan ", op, ": bad stream shape");
  need_floats(*s.streams, uint64_t(s.n_streams) * s.stride, str_cat("Vulkan ", op, " streams").c_str());
}
}  // namespace

void VulkanKernels::altup_enter(CommandRecorder& rec, const Streams& s, float eps, const AltupEnter& a) {
  check_streams(s, "altup_enter");
  const uint64_t rows = uint64_t(s.n_tokens) * s.hidden;
  const GpuBuffer& any = *s.streams;  // binds the unused slots
  if (a.pl != nullptr) {
    if (a.pl_w == nullptr || a.pl_mode == RmsWeight::None) fail("Vulkan altup_enter: per-layer add without its norm");
    need_floats(*a.pl, rows, "Vulkan altup_enter per-layer output");
    need_floats(*a.pl_w, s.hidden, "Vulkan altup_enter per-layer norm");
  }
  if (a.predict) {
    if (!a.router_w || !a.router || !a.coefs || !a.norm_w || !a.pred || !a.active || !a.xn)
      fail("Vulkan altup_enter: predict needs router, coefficients, norm and outputs");
    need_floats(*a.router_w, s.hidden, "Vulkan altup_enter router norm");
    need_floats(*a.router, uint64_t(s.n_streams) * s.hidden, "Vulkan altup_enter router");
    need_floats(*a.coefs, uint64_t(s.n_streams) * s.n_streams * s.n_streams, "Vulkan altup_enter coefficients");
    need_floats(*a.norm_w, s.hidden, "Vulkan altup_enter norm");
    need_floats(*a.pred, uint64_t(s.n_streams) * s.stride, "Vulkan altup_enter pred");
    need_floats(*a.active, rows, "Vulkan altup_enter active");
    need_floats(*a.xn, rows, "Vulkan altup_enter xn");
  } else if (a.pl == nullptr) {
    fail("Vulkan altup_enter: nothing to do");
  }
  const AltupEnterPush push{s.n_streams, s.hidden, s.stride, s.active, eps,
                            a.pl != nullptr ? static_cast<uint32_t>(a.pl_mode) : 0u, a.predict ? 1u : 0u,
                            static_cast<uint32_t>(a.mode)};
  auto or_any = [&](const GpuBuffer* b) -> const GpuBuffer& { return b != nullptr ? *b : any; };
  const ComputePipeline& p = spec_pipeline("altup_enter", 10, sizeof(AltupEnterPush), {row_workgroup(s.hidden)});
  rec.dispatch(p,
               {any, or_any(a.pl), or_any(a.pl_w), or_any(a.router_w), or_any(a.router), or_any(a.coefs),
                or_any(a.norm_w), or_any(a.pred), or_any(a.active), or_any(a.xn)},
               push, s.n_tokens);
}

void VulkanKernels::altup_exit(CommandRecorder& rec, const Streams& s, float eps, const GpuBuffer& h,
                               const GpuBuffer& d, const GpuBuffer& post_w, RmsWeight post_mode,
                               const GpuBuffer& router_w, const GpuBuffer& router, const GpuBuffer& correct,
                               const GpuBuffer& pred, const GpuBuffer* out_scale, const GpuBuffer& gate) {
  check_streams(s, "altup_exit");
  if (post_mode == RmsWeight::None) fail("Vulkan altup_exit: the post-norm needs a weight mode");
  const uint64_t rows = uint64_t(s.n_tokens) * s.hidden;
  need_floats(h, rows, "Vulkan altup_exit h");
  need_floats(d, rows, "Vulkan altup_exit d");
  need_floats(gate, rows, "Vulkan altup_exit gate");
  need_floats(post_w, s.hidden, "Vulkan altup_exit post norm");
  need_floats(router_w, s.hidden, "Vulkan altup_exit router norm");
  need_floats(router, uint64_t(s.n_streams) * s.hidden, "Vulkan altup_exit router");
  need_floats(correct, uint64_t(s.n_streams) * s.n_streams, "Vulkan altup_exit coefficients");
  need_floats(pred, uint64_t(s.n_streams) * s.stride, "Vulkan altup_exit pred");
  if (out_scale != nullptr) need_floats(*out_scale, s.hidden, "Vulkan altup_exit out scale");
  const AltupExitPush push{s.n_streams, s.hidden, s.stride, s.active, eps, static_cast<uint32_t>(post_mode),
                           out_scale != nullptr ? 1u : 0u};
  const ComputePipeline& p = spec_pipeline("altup_exit", 10, sizeof(AltupExitPush), {row_workgroup(s.hidden)});
  rec.dispatch(p, {h, d, post_w, router_w, router, correct, pred, *s.streams, out_scale ? *out_scale : h, gate}, push,
               s.n_tokens);
}

}  // namespace unicorn::hal
#endif
