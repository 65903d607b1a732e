#pragma once
// Typed entry points for the compute shaders: each records one dispatch of a transformer op.
#ifdef UNICORN_HAVE_VULKAN
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
  // Embedding lookup: out[i * cols ...] = dequantized row ids[i] of W (same W arguments as matvec) for i < n_ids;
  // ids holds n_ids uint32. An id >= rows leaves its output row untouched (ids live on the device; validate them
  // on the host before upload).
  void get_rows(CommandRecorder& rec, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows,
                uint32_t cols, const GpuBuffer& ids, uint32_t n_ids, const GpuBuffer& out);
  // For each of n_rows rows of n: out = x / sqrt(mean(x^2) + eps) * (w | 1 + w | 1). out may be x. w is ignored
  // for RmsWeight::None.
  void rmsnorm(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer* w, const GpuBuffer& out, uint32_t n,
               uint32_t n_rows, float eps, RmsWeight mode);
  // In place over n_rows rows of n (see kernels::softmax: -inf entries give 0).
  void softmax(CommandRecorder& rec, const GpuBuffer& x, uint32_t n, uint32_t n_rows);
  // out = act(gate) * up over n elements; out may be gate or up.
  void glu(CommandRecorder& rec, const GpuBuffer& gate, const GpuBuffer& up, const GpuBuffer& out, uint32_t n,
           GluActivation act);
  // out[i] = a[i] + b[i % b_len] (add) or a[i] * b[i % b_len] (mul); out may be a.
  void add(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out, uint32_t n,
           uint32_t b_len);
  void mul(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out, uint32_t n,
           uint32_t b_len);
  // out[i] = op(x[i]) over n elements; out may be x. SoftCap needs param > 0.
  void unary(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& out, uint32_t n, UnaryOp op,
             float param = 0.0f);
  // Rotates n_heads heads of head_dim in x in place with the table row at cos_sin[cs_offset ...]: head_dim / 2
  // cosines then head_dim / 2 sines. interleaved: pairs (2i, 2i+1) (GGUF Llama); else (i, i + head_dim/2) (NEOX/HF).
  void rope(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& cos_sin, uint32_t cs_offset, uint32_t n_heads,
            uint32_t head_dim, bool interleaved);

  // Decode attention of one query token: for each of n_heads query heads (n_heads a multiple of n_kv_heads; GQA),
  // out[h] = softmax(softcap(scale * q[h] . K[t])) . V[t] over positions t in [kv_start, kv_start + kv_len) of
  // k_cache / v_cache, laid out [position][n_kv_heads][head_dim]. softcap 0 disables capping. scores is scratch
  // of at least n_heads * kv_len floats. out must not alias q.
  void attention_decode(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache, const GpuBuffer& v_cache,
                        const GpuBuffer& scores, const GpuBuffer& out, uint32_t n_heads, uint32_t n_kv_heads,
                        uint32_t head_dim, uint32_t kv_start, uint32_t kv_len, float scale, float softcap);

  // ---- Batched (prefill) kernels: hal/vk_kernels_batched.cpp ----------------------------------------------------
  // Fewest tokens for which matmul beats looping matvec (one weight pass per tile of tokens instead of per token).
  static constexpr uint32_t kMatmulMinTokens = 8;
  // Tiled mat-mul, same contract as matvec (y[t * rows + r] = sum_c W[r, c] * x[t * cols + c], W of dtype at byte
  // w_offset of w, all matvec weight types, fp32 accumulation), correct for any n_tokens >= 1 but meant for
  // n_tokens >= kMatmulMinTokens. y must not alias x or w.
  void matmul(CommandRecorder& rec, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows, uint32_t cols,
              const GpuBuffer& x, const GpuBuffer& y, uint32_t n_tokens);
  // Prefill attention of n_q query tokens at positions [pos, pos + n_q): q and out are [n_q][n_heads][head_dim];
  // k_cache / v_cache are [position][n_kv_heads][head_dim] (as attention_decode) and must already hold positions
  // [0, pos + n_q). Query at position p attends to keys j <= p, and j > p - window when window > 0 (sliding window;
  // 0 = full causal); score = softcap(scale * q . k) (softcap 0: none); out = softmax(score) . V, fp32 online
  // softmax. n_heads a multiple of n_kv_heads (GQA), head_dim <= 256. out must not alias q or the caches.
  void attention_prefill(CommandRecorder& rec, const GpuBuffer& q, const GpuBuffer& k_cache,
                         const GpuBuffer& v_cache, const GpuBuffer& out, uint32_t n_q, uint32_t n_heads,
                         uint32_t n_kv_heads, uint32_t head_dim, uint32_t pos, uint32_t window, float scale,
                         float softcap);
  // ---- end of batched kernels -------------------------------------------------------------------------------

 private:
  // Pipeline keyed by shader and specialization constants (spec[0] = workgroup size).
  const ComputePipeline& spec_pipeline(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                                       const std::vector<uint32_t>& spec);
  const ComputePipeline& pipeline(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                                  uint32_t workgroup_size);
  void binary(CommandRecorder& rec, const GpuBuffer& a, const GpuBuffer& b, const GpuBuffer& out, uint32_t n,
              uint32_t b_len, uint32_t mode);

  const VulkanContext& ctx_;
  std::map<std::string, std::unique_ptr<ComputePipeline>> pipelines_;
};

}  // namespace unicorn::hal
#endif
