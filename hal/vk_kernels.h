#pragma once
// Typed entry points for the compute shaders: each records one dispatch of a transformer op.
#ifdef UNICORN_HAVE_VULKAN
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "hal/vk_recorder.h"

namespace unicorn::hal {

enum class GluActivation : uint32_t { Silu = 0, GeluTanh = 1 };
enum class RmsWeight : uint32_t { None = 0, Weight = 1, OnePlusWeight = 2 };
// Element-wise ops of unary(): Scale (x * param), SoftCap (param * tanh(x / param)), Silu, GeluTanh (param unused).
enum class UnaryOp : uint32_t { Scale = 0, SoftCap = 1, Silu = 2, GeluTanh = 3 };

// Optional terms of VulkanKernels::add_rmsnorm.
struct MoreAddends {
  const GpuBuffer* d2 = nullptr;  // with its norm weight d2_w (mode post_mode)
  const GpuBuffer* d2_w = nullptr;
  const GpuBuffer* d3 = nullptr;  // added as it is
  float scale = 1.0f;
};

// VulkanKernels: owns the pipelines of the shaders (built on first use, then cached); not thread-safe; must not
// outlive its context. Every method only records into rec (nothing runs before rec.submit_and_wait()); buffers
// hold float32 unless stated. Sizes are checked against the buffers; bad sizes throw Error.
class VulkanKernels {
 public:
  explicit VulkanKernels(const VulkanContext& ctx);
  ~VulkanKernels();

  // Weight types matvec accepts: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K.
  static bool matvec_supports(DType t);
  // y[t * rows + r] = sum_c W[r, c] * x[t * cols + c] for t < n_tokens. W is rows x cols of dtype, stored as in GGUF
  // (row-major, rows back to back) at byte w_offset of w. Float accumulation, so results differ from the CPU's
  // double-precision reference only by float rounding.
  void matvec(CommandRecorder& rec, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows, uint32_t cols,
              const GpuBuffer& x, const GpuBuffer& y, uint32_t n_tokens = 1);
  // Q8_0 mat-vecs on integer dot products (matvec_q8_0_dot: x rounded to int8 per 32 values in each workgroup's
  // shared memory, each block's products summed exactly in int32; relative error within 1e-2 of sum |w x|, as the
  // CPU's int8 path),
  // where the device has shaderIntegerDotProduct and the shared memory for x. On by default there (H200,
  // Llama-3.2-1B Q8_0 tg128 708-729 vs 358 tok/s, docs/PERFORMANCE.md); UNICORN_VK_INT_DOT=0 or
  // set_matvec_int_dot(false) turns it off.
  void set_matvec_int_dot(bool on) { int_dot_ = on && ctx_.has_int_dot(); }
  // Whether matvec of this type and width runs on integer dot products.
  bool matvec_int_dot(DType dtype, uint32_t cols) const { return int_dot_ && dtype == DType::Q8_0 && cols % 32 == 0; }
  // Embedding lookup: out[i * cols ...] = dequantized row ids[i] of W (same W arguments as matvec) for i < n_ids;
  // ids holds n_ids uint32. An id >= rows leaves its output row untouched (ids live on the device; validate them
  // on the host before upload).
  void get_rows(CommandRecorder& rec, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows,
                uint32_t cols, const GpuBuffer& ids, uint32_t n_ids, const GpuBuffer& out);
  // For each of n_rows rows of n: out = x / sqrt(mean(x^2) + eps) * (w | 1 + w | 1). out may be x. w is ignored
  // for RmsWeight::None.
  void rmsnorm(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer* w, const GpuBuffer& out, uint32_t n,
               uint32_t n_rows, float eps, RmsWeight mode);
  // Residual add fused with the next norm, per row of n (n_rows rows): x = (x + post(d) + post2(d2) + d3) * scale
  // in place, then out = rmsnorm(x) * w, where post(d) = rmsnorm(d) * post_w (post_w == nullptr: d as
  // it is) and post2(d2) = rmsnorm(d2) * d2_w; d2 and d3 are optional (more). Each weight is applied as its mode
  // says. out must not alias x, d or d2; it may alias d3.
  void add_rmsnorm(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& d, const GpuBuffer* post_w,
                   RmsWeight post_mode, const GpuBuffer& w, RmsWeight mode, const GpuBuffer& out, uint32_t n,
                   uint32_t n_rows, float eps, const MoreAddends& more = {});
  // In place over n_rows rows of n (see kernels::softmax: -inf entries give 0).
  void softmax(CommandRecorder& rec, const GpuBuffer& x, uint32_t n, uint32_t n_rows);
  // out = act(gate) * up over n elements; out may be gate or up.
  void glu(CommandRecorder& rec, const GpuBuffer& gate, const GpuBuffer& up, const GpuBuffer& out, uint32_t n,
           GluActivation act);
  // The same with up read as a strided slice: gate's element i (rows of row elements) pairs with
  // up[up_offset + (i / row) * up_stride + i % row]. out must not alias up.
  void glu_strided(CommandRecorder& rec, const GpuBuffer& gate, const GpuBuffer& up, const GpuBuffer& out, uint32_t n,
                   GluActivation act, uint32_t row, uint32_t up_stride, uint32_t up_offset);
  // out[i] = a[i] + b[i % b_len] (add) or a[i] * b[i % b_len] (mul); out may be a.
  void add(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out, uint32_t n,
           uint32_t b_len);
  void mul(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out, uint32_t n,
           uint32_t b_len);
  // out[i] = op(x[i]) over n elements; out may be x. SoftCap needs param > 0.
  void unary(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& out, uint32_t n, UnaryOp op,
             float param = 0.0f);
  // Rotates n_tokens * n_heads heads of head_dim in x ([token][head][head_dim]) in place; token t uses the table row
  // at cos_sin[cs_offset + t * head_dim ...]: head_dim / 2 cosines then head_dim / 2 sines (one row per position,
  // so consecutive tokens take consecutive positions). interleaved: pairs (2i, 2i+1) (GGUF Llama); else
  // (i, i + head_dim/2) (NEOX/HF).
  void rope(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& cos_sin, uint32_t cs_offset, uint32_t n_heads,
            uint32_t head_dim, bool interleaved, uint32_t n_tokens = 1);

  // Decode attention of one query token: for each of n_heads query heads (n_heads a multiple of n_kv_heads; GQA),
  // out[h] = softmax(softcap(scale * q[h] . K[t])) . V[t] over positions t in [kv_start, kv_start + kv_len) of
  // k_cache / v_cache, laid out [position][n_kv_heads][head_dim]. softcap 0 disables capping. scores is scratch
  // of at least n_heads * kv_len floats. out must not alias q.
  void attention_decode(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache, const GpuBuffer& v_cache,
                        const GpuBuffer& scores, const GpuBuffer& out, uint32_t n_heads, uint32_t n_kv_heads,
                        uint32_t head_dim, uint32_t kv_start, uint32_t kv_len, float scale, float softcap);
  // Causal attention of n_queries query tokens at positions q_pos0.. (prefill): query t attends to positions
  // [max(0, q_pos0 + t - window + 1) or 0 when window == 0, q_pos0 + t] of the caches (laid out as for
  // attention_decode, holding at least q_pos0 + n_queries positions). q / out are [token][head][head_dim]; scores
  // is scratch of n_queries * n_heads * (q_pos0 + n_queries) floats. out must not alias q. One workgroup per
  // (head, query): correct for any length, not tiled (the tiled prefill kernel replaces it for speed).
  void attention_rows(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache, const GpuBuffer& v_cache,
                      const GpuBuffer& scores, const GpuBuffer& out, uint32_t n_heads, uint32_t n_kv_heads,
                      uint32_t head_dim, uint32_t q_pos0, uint32_t n_queries, uint32_t window, float scale,
                      float softcap);

  // KV append: k_cache / v_cache at float offset position * n_kv_heads * head_dim get n_tokens tokens of k rotated
  // as rope() would (same table arguments) and of v unchanged. k and v are [token][n_kv_heads][head_dim]; the caches
  // must hold position + n_tokens positions.
  void kv_store(CommandRecorder& rec, const GpuBuffer& k, const GpuBuffer& v, const GpuBuffer& cos_sin,
                uint32_t cs_offset, uint32_t n_kv_heads, uint32_t head_dim, bool interleaved, uint32_t n_tokens,
                const GpuBuffer& k_cache, const GpuBuffer& v_cache, uint32_t position);

  // Per-head norms + RoPE + KV append in one dispatch (rope_store.comp): q ([token][n_heads][head_dim]) is
  // rotated in place and, when n_kv_heads > 0, k rotated and v appended to the caches at position (as kv_store).
  // Before rotating, heads are RMS-normalized when a norm weight is given (q_w / k_w with head_mode), and values
  // without weight when v_norm. Same rotation table arguments as rope(); q_w / k_w hold head_dim floats.
  struct HeadNorms {
    const GpuBuffer* q_w = nullptr;
    const GpuBuffer* k_w = nullptr;
    RmsWeight mode = RmsWeight::Weight;
    bool v_norm = false;
    float eps = 1e-6f;
  };
  void rope_store(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k, const GpuBuffer& v,
                  const GpuBuffer& cos_sin, uint32_t cs_offset, uint32_t n_heads, uint32_t n_kv_heads,
                  uint32_t head_dim, bool interleaved, uint32_t n_tokens, const GpuBuffer& k_cache,
                  const GpuBuffer& v_cache, uint32_t position, const HeadNorms& norms);

  // Whether matvec_glu takes these gate/up matrices (Q4_K, cols % 256 == 0, offset 0).
  static bool matvec_glu_supports(DType gate, DType up, uint32_t cols);
  // y[t * rows + r] = act(gate[r] . x_t) * (up[r] . x_t) for t < n_tokens: the decode gate/up projections with the
  // GLU fused in. gate and up are rows x cols Q4_K matrices at byte 0 of their buffers.
  void matvec_glu(CommandRecorder& rec, DType dtype, const GpuBuffer& gate, const GpuBuffer& up, uint32_t rows,
                  uint32_t cols, const GpuBuffer& x, const GpuBuffer& y, uint32_t n_tokens, GluActivation act);

  // ---- Gemma 3n ----
  // y = W x for an F32 matrix of any width (rows x cols, row-major), n_tokens rows of x; for small matrices whose
  // width is no multiple of 32.
  void matvec_f32_any(CommandRecorder& rec, const GpuBuffer& w, uint32_t rows, uint32_t cols, const GpuBuffer& x,
                      const GpuBuffer& y, uint32_t n_tokens = 1);
  // Per row of n (n_rows rows) in place: x = max(x - (mean + std * multiplier), 0), population std.
  void gaussian_topk(CommandRecorder& rec, const GpuBuffer& x, uint32_t n, uint32_t n_rows, float multiplier);
  // Per row of n in place: x *= rms(ref row) / sqrt(max(mean(x^2), 1e-5)).
  void rms_match(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& ref, uint32_t n, uint32_t n_rows);
  // AltUp predict over streams laid out [n_streams][stride] (token t of stream s at s * stride + t * hidden):
  // pred_j = stream_j + sum_i (predict[(j N + i) N ..] . mod[t N ..]) stream_i. predict holds N^3 floats, mod
  // n_tokens * N.
  void altup_predict(CommandRecorder& rec, const GpuBuffer& streams, const GpuBuffer& mod, const GpuBuffer& predict,
                     const GpuBuffer& pred, uint32_t n_streams, uint32_t hidden, uint32_t n_tokens, uint32_t stride);
  // AltUp correct: stream_s = (act - pred_active) * (1 + correct[s N ..] . mod[t N ..]) + pred_s. act is
  // [n_tokens][hidden]; correct N^2 floats.
  void altup_correct(CommandRecorder& rec, const GpuBuffer& pred, const GpuBuffer& act, const GpuBuffer& mod,
                     const GpuBuffer& correct, const GpuBuffer& streams, uint32_t n_streams, uint32_t hidden,
                     uint32_t n_tokens, uint32_t stride, uint32_t active);
  // streams[s * stride + i] += x[i] for s in [first, n_streams), i < n.
  void add_to_streams(CommandRecorder& rec, const GpuBuffer& streams, const GpuBuffer& x, uint32_t n_streams,
                      uint32_t first, uint32_t n, uint32_t stride);
  // The AltUp streams of a batch: n_streams (at most kMaxStreams) streams laid out as for altup_predict, and the
  // active one.
  static constexpr uint32_t kMaxStreams = 8;
  struct Streams {
    const GpuBuffer* streams = nullptr;
    uint32_t n_streams = 0, hidden = 0, n_tokens = 0, stride = 0, active = 0;
  };
  // A layer's start in one dispatch (altup_enter.comp), one workgroup per token. With pl: streams 1.. +=
  // rmsnorm(pl) * gain(pl_mode, pl_w) (the previous layer's per-layer output). With predict: mod = tanh(router .
  // (rmsnorm(stream_active) * router_w)) (router: n_streams x hidden F32, any 1 / hidden already folded in), pred
  // as altup_predict, active = pred_active and xn = rmsnorm(active) * gain(mode, norm_w). pl, active, xn:
  // [n_tokens][hidden].
  struct AltupEnter {
    const GpuBuffer* pl = nullptr;  // null: no per-layer add
    const GpuBuffer* pl_w = nullptr;
    RmsWeight pl_mode = RmsWeight::Weight;
    bool predict = true;
    const GpuBuffer *router_w = nullptr, *router = nullptr, *coefs = nullptr, *norm_w = nullptr;
    RmsWeight mode = RmsWeight::Weight;
    const GpuBuffer *pred = nullptr, *active = nullptr, *xn = nullptr;
  };
  void altup_enter(CommandRecorder& rec, const Streams& s, float eps, const AltupEnter& a);
  // A layer's AltUp end in one dispatch (altup_exit.comp), one workgroup per token: h' = h + rmsnorm(d) *
  // gain(post_mode, post_w); mod = tanh(router . (rmsnorm(h') * router_w)); streams = altup_correct(pred, h', mod,
  // correct); gate = stream_active * out_scale (null out_scale: stream_active). h, d, gate: [n_tokens][hidden].
  void altup_exit(CommandRecorder& rec, const Streams& s, float eps, const GpuBuffer& h, const GpuBuffer& d,
                  const GpuBuffer& post_w, RmsWeight post_mode, const GpuBuffer& router_w, const GpuBuffer& router,
                  const GpuBuffer& correct, const GpuBuffer& pred, const GpuBuffer* out_scale, const GpuBuffer& gate);

  // ---- Batched (prefill) kernels: hal/vk_kernels_batched.cpp ----------------------------------------------------
  // Fewest tokens for which matmul beats looping matvec (one weight pass per tile of tokens instead of per token).
  static constexpr uint32_t kMatmulMinTokens = 8;
  // Tiled mat-mul, same contract as matvec (y[t * rows + r] = sum_c W[r, c] * x[t * cols + c], W of dtype at byte
  // w_offset of w, all matvec weight types, fp32 accumulation), correct for any n_tokens >= 1 but meant for
  // n_tokens >= kMatmulMinTokens. y must not alias x or w.
  // From kMatmulWideTokens tokens it runs the wide kernel: 128-token tiles where that gives at least
  // kWideMinGroups workgroups; else, for Q4_K/Q6_K on a device with float atomic add, 128-token tiles with the
  // columns split in two (twice the workgroups; y zeroed first); else 64-token tiles.
  void matmul(CommandRecorder& rec, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows, uint32_t cols,
              const GpuBuffer& x, const GpuBuffer& y, uint32_t n_tokens);
  static constexpr uint32_t kMatmulWideTokens = 64;
  // From kMatmulWideTokens tokens, products of at most kNarrowRows rows run as per-token mat-vecs (unless
  // UNICORN_VK_NARROW_MATVEC=0 or a forced tiling).
  static constexpr uint32_t kNarrowRows = 64;
  // Whether matmul of this row count and batch runs as per-token mat-vecs (above).
  bool narrow_as_matvec(uint32_t rows, uint32_t n_tokens) const;
  // Forces one wide-kernel tiling (tests; Auto = the choice above). SplitK falls back to Tokens128 where the type
  // or device lacks it.
  enum class WideTile { Auto, Tokens128, Tokens64, SplitK };
  void set_matmul_wide_tile(WideTile t) { wide_tile_ = t; }
  // Whether SplitK runs for this type here.
  bool matmul_split_supported(DType dtype) const;
  // The wide kernel of the quantized types (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K) computes in fp16 where the device has
  // shaderFloat16: tiles of fp16, each 32-column step summed in fp16 and added into fp32 accumulators (relative
  // error about 1e-3 of a row's scale; float weight types stay fp32). On by default; UNICORN_VK_F16_MATH=0 or
  // set_matmul_f16_math(false) turns it off.
  void set_matmul_f16_math(bool on) { f16_math_ = on && ctx_.has_float16_math(); }
  // Whether matmul of this type, row count and batch computes in fp16.
  bool matmul_f16_math(DType dtype, uint32_t rows, uint32_t n_tokens) const;
  // On devices with cooperative matrices (VulkanContext::coop_matrix), the wide products of the quantized types run
  // matmul_cm_*: fp16 tiles multiplied in 16 x 16 x 16 fragments with fp32 accumulators (same stated bound as the
  // fp16 wide kernel). On by default there; UNICORN_VK_COOPMAT=0 or set_matmul_coop_matrix(false) turns it off.
  void set_matmul_coop_matrix(bool on) { coop_matrix_ = on && ctx_.coop_matrix() != CoopMatrix::None; }
  // Whether matmul of this type, row count and batch runs the cooperative-matrix kernel.
  bool matmul_coop_matrix(DType dtype, uint32_t rows, uint32_t n_tokens) const;
  // Prefill attention of n_q query tokens at positions [pos, pos + n_q): q and out are [n_q][n_heads][head_dim];
  // k_cache / v_cache are [position][n_kv_heads][head_dim] (as attention_decode) and must already hold positions
  // [0, pos + n_q). Query at position p attends to keys j <= p, and j > p - window when window > 0 (sliding window;
  // 0 = full causal); score = softcap(scale * q . k) (softcap 0: none); out = softmax(score) . V, fp32 online
  // softmax. n_heads a multiple of n_kv_heads (GQA), head_dim <= 256. out must not alias q or the caches.
  void attention_prefill(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache,
                         const GpuBuffer& v_cache, const GpuBuffer& out, uint32_t n_q, uint32_t n_heads,
                         uint32_t n_kv_heads, uint32_t head_dim, uint32_t pos, uint32_t window, float scale,
                         float softcap);
  // attention_prefill runs attn_prefill_v2 (register-blocked, vec4 tiles) where head_dim % 4 == 0 and its tiles fit
  // the device's shared memory, else the scalar attn_prefill; UNICORN_VK_ATTN_PREFILL_V1=1 or
  // set_attention_prefill_v1(true) forces attn_prefill (A/B runs, tests).
  void set_attention_prefill_v1(bool on) { prefill_v1_ = on; }
  bool attention_prefill_v1() const { return prefill_v1_; }
  // Split-K decode attention: same result as attention_decode (one query token, GQA, keys [kv_start,
  // kv_start + kv_len), softcap) computed by attention_decode_splits(kv_len) workgroups per head (chunks of
  // kDecodeChunk keys) plus one merge pass; for long contexts, where one workgroup per head leaves the GPU idle.
  // partials is scratch of attention_decode_partials(n_heads, head_dim, kv_len) floats. head_dim <= 256; out must
  // not alias q or partials.
  static constexpr uint32_t kDecodeChunk = 128;
  static uint32_t attention_decode_splits(uint32_t kv_len) { return (kv_len + kDecodeChunk - 1) / kDecodeChunk; }
  static uint64_t attention_decode_partials(uint32_t n_heads, uint32_t head_dim, uint32_t kv_len) {
    return uint64_t(n_heads) * attention_decode_splits(kv_len) * (uint64_t(head_dim) + 2);
  }
  void attention_decode_split(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache,
                              const GpuBuffer& v_cache, const GpuBuffer& partials, const GpuBuffer& out,
                              uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t kv_start,
                              uint32_t kv_len, float scale, float softcap);
  // ---- end of batched kernels -------------------------------------------------------------------------------

  // The KV-cache kernels (kv_store, rope_store, every attention) read and write caches of F16 instead of F32
  // elements (half the memory; the math stays fp32). Throws Error where the device lacks 16-bit storage access.
  void set_kv_f16(bool f16);
  bool kv_f16() const { return kv_f16_; }

  // Tests: caps the x extent of the row and element grids (never above the device's limit), so that small grids take
  // the z path of dispatch_linear.
  void set_max_groups_x(uint32_t n) { max_groups_x_ = std::max<uint32_t>(1, n); }
  uint32_t max_groups_x() const { return max_groups_x_; }

 private:
  // Records `groups` workgroups along x (n_tokens along y); past the device's maxComputeWorkGroupCount[0] the grid
  // continues in z, which the row and element kernels read through group_x() / flat_invocation() (grid.glsl) and
  // guard against spare groups.
  template <typename Push>
  void dispatch_linear(CommandRecorder& rec, const ComputePipeline& p, std::initializer_list<BufferRange> buffers,
                     const Push& push, uint32_t groups, uint32_t n_tokens, const std::string& label) const {
    const uint32_t max_x = std::min(ctx_.properties().limits.maxComputeWorkGroupCount[0], max_groups_x_);
    const uint32_t gz = (groups + max_x - 1) / max_x;
    rec.dispatch(p, buffers, push, (groups + gz - 1) / gz, n_tokens, gz, label);
  }
  // Pipeline keyed by shader and specialization constants (spec[0] = workgroup size).
  const ComputePipeline& spec_pipeline(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                                       const std::vector<uint32_t>& spec);
  const ComputePipeline& pipeline(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                                  uint32_t workgroup_size);
  void binary(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out, uint32_t n,
              uint32_t b_len, uint32_t mode);

  const VulkanContext& ctx_;
  WideTile wide_tile_ = WideTile::Auto;
  bool f16_math_ = false;
  bool narrow_matvec_ = true;
  uint32_t max_groups_x_ = UINT32_MAX;  // set_max_groups_x (tests)
  bool profile_shapes_ = false;  // UNICORN_VK_PROFILE_SHAPES=1: mat-vec profile labels name the shape
  bool coop_matrix_ = false;
  bool int_dot_ = false;
  bool kv_f16_ = false;
  bool prefill_v1_ = false;
  // The shader's F16-cache variant (NAME_kvf16) when kv_f16_.
  std::string kv_shader(const char* name) const { return kv_f16_ ? std::string(name) + "_kvf16" : std::string(name); }
  // Fails unless b holds n cache elements.
  void need_kv(const GpuBuffer& b, uint64_t n, const char* what) const;
  std::map<std::string, std::unique_ptr<ComputePipeline>> pipelines_;
};

}  // namespace unicorn::hal
#endif
