#include "runtime/vulkan_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <vector>

#include "base/background_copy.h"
#include "base/error.h"
#include "runtime/cpu_model.h"

#ifdef UNICORN_HAVE_VULKAN
#include "hal/vk_buffer.h"
#include "hal/vk_context.h"
#include "hal/vk_kernels.h"
#include "hal/vk_recorder.h"
#include "hal/vk_uploader.h"
#include "quant/quant.h"
#include "runtime/model_weights.h"
#include "runtime/rope_table.h"
#endif

namespace unicorn {

std::string resolve_device(const std::string& spec) {
  if (spec == "cpu") return "cpu";
  const bool vulkan = spec == "vulkan" || spec.rfind("vulkan:", 0) == 0;
  if (!vulkan && spec != "auto") throw Error(str_cat("unknown device '", spec, "' (cpu, vulkan, vulkan:N or auto)"));
#ifdef UNICORN_HAVE_VULKAN
  if (vulkan) return spec;
  std::vector<hal::VulkanDeviceChoice> devices;
  try {
    devices = hal::VulkanContext::list_devices();
  } catch (const Error&) {
    return "cpu";  // no loader or no driver: auto means the CPU
  }
  if (devices.empty()) return "cpu";
  // The best device by type (discrete > integrated > virtual > other > CPU); a CPU driver (lavapipe) is no GPU.
  const uint32_t best = hal::select_vulkan_device(devices, "auto");
  for (const hal::VulkanDeviceChoice& d : devices)
    if (d.index == best && d.type != VK_PHYSICAL_DEVICE_TYPE_CPU) return str_cat("vulkan:", d.index);
  return "cpu";
#else
  if (vulkan) throw Error("--device " + spec + ": this unicorn was built without the Vulkan backend");
  return "cpu";
#endif
}

#ifndef UNICORN_HAVE_VULKAN

std::unique_ptr<Model> make_vulkan_model(std::unique_ptr<ModelSource>, ModelConfig, const ModelOptions&,
                                         const std::string& vulkan_spec) {
  throw Error("--device " + vulkan_spec + ": this unicorn was built without the Vulkan backend");
}

#else

namespace {

using hal::BufferPlace;
using hal::CommandRecorder;
using hal::GpuBuffer;
using hal::RmsWeight;
using hal::VulkanContext;
using hal::VulkanKernels;

std::string mib(uint64_t b) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f", static_cast<double>(b) / 1048576.0);
  return s;
}

// A weight matrix on the device: its bytes exactly as stored (the shaders dequantize them), or, for a matrix whose
// width is no multiple of 32 (small Gemma 3n factors), dequantized to F32 for the any-width matvec.
struct GpuMatrix {
  DType dtype = DType::F32;
  uint32_t rows = 0, cols = 0;
  bool any_width = false;
  GpuBuffer buf;
  bool empty() const { return rows == 0; }
};

// Weights of one layer on the device (only the layers that run there).
struct GpuLayer {
  GpuMatrix wq, wk, wv, wo, w_gate, w_up, w_down;
  GpuBuffer attn_norm, post_attn_norm, ffn_norm, post_ffn_norm, q_norm, k_norm;
  GpuBuffer k_cache, v_cache;  // empty for layers reading another layer's cache
  // Gemma 3n.
  GpuMatrix laurel_left, laurel_right, per_layer_gate, per_layer_proj, altup_router;
  GpuBuffer laurel_norm, per_layer_post_norm, altup_router_norm, altup_predict, altup_correct, altup_out_scale;
};

// WeightPlacer: decides DEVICE_LOCAL or HOST_VISIBLE per tensor against a byte budget of device-local memory and
// uploads: pipelined through staging buffers for unmapped VRAM (on the transfer queue where there is one), and where
// the memory is mapped (UMA, host-visible) a direct write, handed to `background` when given (tagged with the
// group set_group() names: the layer that needs it, -1 for what the forward needs first); unmapped VRAM too when
// background_uploader is given (a staging uploader on the transfer queue, used only by the background thread).
// Not thread-safe; one per load; finish() before the weights are used (the background writes:
// background->wait_for(group)).
class WeightPlacer {
 public:
  WeightPlacer(const VulkanContext& ctx, uint64_t device_budget, BackgroundCopy* background,
               hal::StagedUploader* background_uploader)
      : ctx_(ctx), budget_(device_budget), background_(background), background_uploader_(background_uploader) {}
  void set_group(int group) { group_ = group; }

  // keep: data may not outlive this call (a background write then copies it first).
  GpuBuffer place(const void* data, uint64_t bytes, bool keep = false) {
    const bool fits = device_bytes_ + bytes <= budget_;
    // UMA: map device-local memory and write it in place; discrete: unmapped VRAM (the BAR window stays free).
    const bool map = ctx_.is_uma();
    GpuBuffer b = fits ? try_device(bytes, map) : GpuBuffer();
    if (b.handle() != VK_NULL_HANDLE) {
      device_bytes_ += bytes;
      ++device_tensors_;
    } else {
      b = GpuBuffer(ctx_, bytes, BufferPlace::HostVisible);
      host_bytes_ += bytes;
      ++host_tensors_;
    }
    if (background_ != nullptr && b.mapped() != nullptr) {
      background_->add(group_, b.mapped(), data, bytes, keep);
      background_bytes_ += bytes;
    } else if (background_ != nullptr && background_uploader_ != nullptr) {
      hal::StagedUploader* up = background_uploader_;
      const VkBuffer dst = b.handle();
      background_->add(group_, [up, dst](const void* src, uint64_t n) { up->upload(dst, 0, src, n); }, data, bytes,
                       keep);
      background_bytes_ += bytes;
    } else {
      uploader_.upload(b, 0, data, bytes);
    }
    return b;
  }
  // Waits for the uploads still in flight; call before the first forward.
  void finish() { uploader_.finish(); }
  // The vectors are the loader's (gone after the load), so a background write keeps a copy.
  GpuBuffer floats(const std::vector<float>& v) { return place(v.data(), v.size() * sizeof(float), true); }
  // keep: as place(); the model file's tensors (mapped for the model's life) need none.
  GpuMatrix matrix(const kernels::WeightMatrix& w, bool keep = false) {
    GpuMatrix m;
    if (w.data == nullptr) return m;
    if (!VulkanKernels::matvec_supports(w.dtype))
      throw Error(str_cat("Vulkan: no shader for weight type ", dtype_name(w.dtype)));
    m.dtype = w.dtype;
    m.rows = static_cast<uint32_t>(w.rows);
    m.cols = static_cast<uint32_t>(w.cols);
    const uint64_t row_bytes = dtype_row_bytes(w.dtype, static_cast<uint64_t>(w.cols));
    if (w.cols % 32 != 0) {
      std::vector<float> f32(static_cast<size_t>(w.rows * w.cols));
      for (int64_t r = 0; r < w.rows; ++r)
        quant::dequantize_row(w.dtype, w.data + row_bytes * static_cast<uint64_t>(r), f32.data() + r * w.cols, w.cols);
      m.dtype = DType::F32;
      m.any_width = true;
      m.buf = floats(f32);
      return m;
    }
    m.buf = place(w.data, row_bytes * static_cast<uint64_t>(w.rows), keep);
    return m;
  }
  // A float matrix held in a vector (Gemma 3n's AltUp router), [rows, cols].
  GpuMatrix matrix(const std::vector<float>& v, int64_t rows, int64_t cols) {
    return matrix(kernels::WeightMatrix{DType::F32, reinterpret_cast<const uint8_t*>(v.data()), rows, cols}, true);
  }

  std::string summary() const {
    return str_cat(device_tensors_, " tensors (", mib(device_bytes_), " MiB) in device-local memory, ", host_tensors_,
                   " tensors (", mib(host_bytes_), " MiB) in host-visible memory",
                   background_bytes_ > 0 ? str_cat(" (", mib(background_bytes_),
                                                   " MiB written in the background as the first forward needs them)")
                                         : std::string());
  }
  uint64_t device_bytes() const { return device_bytes_; }
  uint64_t host_bytes() const { return host_bytes_; }

 private:
  GpuBuffer try_device(uint64_t bytes, bool map) {
    try {
      return GpuBuffer(ctx_, bytes, BufferPlace::DeviceLocal, map);
    } catch (const Error&) {
      return GpuBuffer();  // the driver refused (fragmentation, other processes): this tensor goes to host memory
    }
  }
  const VulkanContext& ctx_;
  hal::StagedUploader uploader_{ctx_};
  uint64_t budget_;
  BackgroundCopy* background_;
  hal::StagedUploader* background_uploader_;
  int group_ = -1;
  uint64_t device_bytes_ = 0, host_bytes_ = 0, background_bytes_ = 0;
  int device_tensors_ = 0, host_tensors_ = 0;
};

// Profile: GPU milliseconds and dispatch counts per op label, summed over submissions.
struct OpTime {
  double ms = 0;
  uint64_t calls = 0;
};

// VulkanModel: owns the context, kernels, device weights (layers [0, gpu_layers) and, when all layers are on the
// GPU, the head), the KV cache of those layers, activation buffers sized for the largest batch seen and the CPU tail
// for the remaining layers; not thread-safe. One command buffer and one submission per forward (plus one per
// boundary crossing to the CPU tail).
class VulkanModel final : public Model {
 public:
  VulkanModel(std::unique_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts,
              std::unique_ptr<VulkanContext> ctx);

  const ModelInfo& info() const override { return info_; }
  const Metadata& metadata() const override { return src_->metadata(); }
  void reset() override { n_cached_ = 0; }
  void forward(std::span<const int32_t> tokens, int pos, float* logits, bool all_logits) override;
  std::string profile_report() const override;
  ForwardTimes forward_times() const override { return times_; }
  // The background writes and the recorder go first: they may still reference the buffers.
  ~VulkanModel() override {
    background_.reset();
    background_uploader_.reset();
    rec_.reset();
  }

 private:
  // One batch of at most prefill_chunk_ tokens; logits null: no head (an earlier chunk of a prompt).
  void record_and_run(std::span<const int32_t> tokens, int pos, float* logits, bool all_logits);
  void upload_weights(const ModelWeights& w, uint64_t budget);
  void ensure_capacity(int n, int pos, bool all_logits);
  void norm(const GpuBuffer& x, const GpuBuffer& w, const GpuBuffer& out, uint32_t n, uint32_t rows) {
    kernels_->rmsnorm(*rec_, x, &w, out, n, rows, eps_, cfg_.norm_adds_one ? RmsWeight::OnePlusWeight : RmsWeight::Weight);
  }
  void matvec(const GpuMatrix& m, const GpuBuffer& x, const GpuBuffer& y, int n) {
    const uint32_t N = static_cast<uint32_t>(n);
    if (m.any_width) kernels_->matvec_f32_any(*rec_, m.buf, m.rows, m.cols, x, y, N);
    // A batch reads each weight tile once for many tokens (tiled matmul) instead of once per token.
    else if (N >= VulkanKernels::kMatmulMinTokens) kernels_->matmul(*rec_, m.dtype, m.buf, 0, m.rows, m.cols, x, y, N);
    else kernels_->matvec(*rec_, m.dtype, m.buf, 0, m.rows, m.cols, x, y, N);
  }
  void scale(const GpuBuffer& x, uint64_t n, double factor) {
    kernels_->unary(*rec_, x, x, static_cast<uint32_t>(n), hal::UnaryOp::Scale, static_cast<float>(factor));
  }
  void layer_standard(int l, int n, int pos);
  void gemma3n_inputs(std::span<const int32_t> tokens);
  void layer_gemma3n(int l, int n, int pos);
  void layer_gemma3n_fused(int l, int n, int pos);
  // After the last GPU layer (fused): the per-layer add that the next layer's altup_enter would have done.
  void gemma3n_finish_streams(int n);
  VulkanKernels::Streams streams(int n) const {
    const uint32_t N = static_cast<uint32_t>(n);
    return VulkanKernels::Streams{&streams_, N_, H_, N, N * H_, A_};
  }
  void gemma3n_output(int n, int first, int rows);
  // Unfused: the AltUp router's mix coefficients mod_ = tanh(router . (rmsnorm(x) / hidden)), via tmp_.
  void altup_modalities(const GpuLayer& G, const GpuBuffer& x, int n);
  // beside(0) is recorded in the q/k/v projections' concurrent group and beside(1) after them, beside the RoPE step:
  // work independent of both (Gemma 3n's LAuReL).
  void attention(int l, const GpuBuffer& in, int n, int pos, const GpuBuffer& out,
                 const std::function<void(int)>& beside = {});
  void mlp(int l, const GpuBuffer& in, int n, const GpuBuffer& out);
  void submit();

  std::shared_ptr<ModelSource> src_;
  ModelConfig cfg_;
  ModelInfo info_;
  std::unique_ptr<VulkanContext> ctx_;
  std::unique_ptr<VulkanKernels> kernels_;
  std::unique_ptr<CommandRecorder> rec_;
  std::unique_ptr<CpuLayerTail> cpu_tail_;  // layers [gpu_layers_, n_layers) and the head; null when all on GPU
  int gpu_layers_ = 0;
  bool profile_ = false;
  bool fuse_ = true;  // fused kernels (add+norm, norm+rope+KV store, gate/up+GLU); UNICORN_VK_FUSE=0 turns them off
  float eps_ = 1e-6f;
  uint32_t H_ = 0, q_dim_ = 0, kv_dim_ = 0, max_ffn_ = 0;

  GpuMatrix embed_, lm_head_;
  GpuBuffer final_norm_;
  // Gemma 3n.
  GpuMatrix per_layer_embed_, per_layer_model_proj_;
  GpuBuffer per_layer_proj_norm_;
  std::vector<GpuMatrix> altup_proj_, altup_unembed_;
  uint32_t N_ = 0, A_ = 0, P_ = 0, LP_ = 0;
  std::vector<GpuLayer> layers_;
  GpuBuffer rope_global_, rope_local_;  // [ctx][head_dim]: cos half then sin half
  int n_cached_ = 0;
  int cap_ = 0, logits_cap_ = 0;
  uint64_t scores_cap_ = 0;

  // Activations, cap_ rows each; ids_, logits_ and hidden_ are host-visible (written / read by the host).
  GpuBuffer ids_, x_, xn_, q_, k_, v_, att_, o_, gate_, up_, ffo_, row_, scores_, logits_, hidden_;
  GpuBuffer logits_dev_;  // the head's output in device memory, copied to logits_ (when stage_logits_)
  bool stage_logits_ = false;  // discrete GPUs; UNICORN_VK_STAGE_LOGITS=1 / 0 forces it on / off (tests, A/B runs)
  int prefill_chunk_ = 512;  // most tokens per recorded batch (UNICORN_VK_PREFILL_CHUNK)
  std::vector<float> chunk_logits_;  // a CPU tail's logits for a prompt's earlier chunks, dropped
  // Gemma 3n: streams_/pred_ are [N][n * hidden] for the current batch; pl_ids_ is host-visible.
  GpuBuffer pl_ids_, streams_, pred_, pli_, plrow_, plil_, lr_, laurel_, h_, active_, mod_, tmp_, gatep_;
  GpuBuffer pli_host_;  // the per-layer inputs for a CPU tail (host-visible)
  std::map<std::string, OpTime> op_times_;
  // Where each forward's time goes (forward_times()): recording (which overlaps the GPU once early parts are
  // submitted), waiting for the last submission, and with GPU timing the GPU's first-to-last-command time.
  std::chrono::steady_clock::time_point host_mark_;  // the forward's start, then the end of its last submission
  ForwardTimes times_;
  // Weights written by a background thread while the first forward runs: into mapped memory (UMA devices,
  // host-visible placement), and on devices with a transfer queue into VRAM through background_uploader_ (a group
  // counts as written once its device copies are done). Groups -1 (embeddings and what the start needs),
  // 0..n_layers - 1 (a layer's), n_layers (the head). Null once everything is written (or with
  // UNICORN_VK_ASYNC_UPLOAD=0). The uploader is declared first so that it outlives the thread using it.
  std::unique_ptr<hal::StagedUploader> background_uploader_;
  std::unique_ptr<BackgroundCopy> background_;
  void weights_ready(int group) {
    if (!background_ || background_->ready(group)) return;
    rec_->submit_recorded();  // the GPU runs what is recorded while the host waits for the copies
    background_->wait_for(group);
  }
};

// How much device-local memory the weights may take: the largest device-local heap's availability minus what the
// KV cache and activations need, keeping 10% (at least 64 MiB) back for the driver. UNICORN_VK_BUDGET_MIB lowers it
// (tests use it to send tensors to host-visible memory).
uint64_t weight_budget(const VulkanContext& ctx, uint64_t reserved) {
  uint64_t avail = 0;
  for (const hal::VulkanHeap& h : ctx.heaps())
    if (h.device_local) avail = std::max(avail, h.available);
  const uint64_t keep = std::max<uint64_t>(avail / 10, 64ull << 20) + reserved;
  uint64_t budget = avail > keep ? avail - keep : 0;
  if (const char* env = std::getenv("UNICORN_VK_BUDGET_MIB")) {
    char* end = nullptr;
    const unsigned long long mib = std::strtoull(env, &end, 10);
    if (end == env || *end != '\0') throw Error(str_cat("UNICORN_VK_BUDGET_MIB='", env, "' is not a number of MiB"));
    budget = std::min<uint64_t>(budget, static_cast<uint64_t>(mib) << 20);
  }
  return budget;
}

VulkanModel::VulkanModel(std::unique_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts,
                         std::unique_ptr<VulkanContext> ctx)
    : src_(std::move(src)), cfg_(std::move(cfg)), ctx_(std::move(ctx)) {
  ModelWeights w = bind_weights(*src_, cfg_);
  if (opts.ctx < 0) throw Error(str_cat("context size must not be negative (got ", opts.ctx, ")"));
  const int ctx_len = opts.ctx > 0 ? opts.ctx : std::min(cfg_.max_ctx, ModelOptions::kDefaultCtxCap);
  if (opts.gpu_layers > cfg_.n_layers)
    throw Error(str_cat("--gpu-layers ", opts.gpu_layers, " exceeds the model's ", cfg_.n_layers, " layers"));
  gpu_layers_ = opts.gpu_layers < 0 ? cfg_.n_layers : opts.gpu_layers;
  if (gpu_layers_ < cfg_.n_layers && !kv_sources_within(cfg_, gpu_layers_)) {
    int last_ok = gpu_layers_;
    while (last_ok > 0 && !kv_sources_within(cfg_, last_ok)) --last_ok;
    throw Error(str_cat("--gpu-layers ", gpu_layers_, ": a CPU layer would reuse the KV cache of a GPU layer (KV ",
                        "sharing); use --gpu-layers ", last_ok, " or less, or -1 (all)"));
  }
  N_ = static_cast<uint32_t>(cfg_.altup_inputs);
  A_ = static_cast<uint32_t>(cfg_.altup_active);
  P_ = static_cast<uint32_t>(cfg_.per_layer_dim);
  LP_ = static_cast<uint32_t>(cfg_.n_layers) * P_;
  profile_ = opts.profile;
  if (const char* e = std::getenv("UNICORN_VK_FUSE")) fuse_ = std::string(e) != "0";
  stage_logits_ = !ctx_->is_uma();
  if (const char* e = std::getenv("UNICORN_VK_STAGE_LOGITS")) stage_logits_ = std::string(e) == "1";
  if (const char* e = std::getenv("UNICORN_VK_PREFILL_CHUNK")) {
    prefill_chunk_ = std::atoi(e);
    if (prefill_chunk_ < 1) throw Error(str_cat("UNICORN_VK_PREFILL_CHUNK='", e, "': expected a token count >= 1"));
  }
  if (N_ > VulkanKernels::kMaxStreams) fuse_ = false;  // the fused AltUp kernels hold at most that many streams
  eps_ = static_cast<float>(cfg_.norm_eps);
  H_ = static_cast<uint32_t>(cfg_.hidden);
  q_dim_ = static_cast<uint32_t>(cfg_.n_heads * cfg_.head_dim);
  kv_dim_ = static_cast<uint32_t>(cfg_.n_kv_heads * cfg_.head_dim);
  for (int f : cfg_.ffn) max_ffn_ = std::max<uint32_t>(max_ffn_, static_cast<uint32_t>(f));

  info_ = describe_model(cfg_, w.bytes, ctx_len);
  info_.gpu_layers = gpu_layers_;
  const bool coop = ctx_->coop_matrix() != hal::CoopMatrix::None;
  info_.device = str_cat("vulkan (", ctx_->device_name(), coop ? ", " : "",
                         coop ? hal::coop_matrix_name(ctx_->coop_matrix()) : "", ")");

  kernels_ = std::make_unique<VulkanKernels>(*ctx_);
  rec_ = std::make_unique<CommandRecorder>(
      *ctx_, profile_ ? hal::GpuTiming::PerDispatch : opts.time_gpu ? hal::GpuTiming::Span : hal::GpuTiming::Off);

  // The KV cache of the GPU layers lives in device-local memory; it and the activations are reserved first. With
  // --kv-f16 it holds F16 elements where the device can read and write 16-bit storage (else F32, said below).
  const bool kv_f16 = opts.kv_f16 && ctx_->has_16bit_storage();
  kernels_->set_kv_f16(kv_f16);
  const uint64_t kv_bytes = uint64_t(ctx_len) * kv_dim_ * (kv_f16 ? 2 : 4) * 2;
  uint64_t reserved = 0;
  for (int l = 0; l < gpu_layers_; ++l)
    if (cfg_.kv_source[l] == l) reserved += kv_bytes;
  for (int l = 0; l < gpu_layers_; ++l) {
    layers_.emplace_back();
    if (cfg_.kv_source[l] != l) continue;
    layers_[l].k_cache = GpuBuffer(*ctx_, kv_bytes / 2, BufferPlace::DeviceLocal, ctx_->is_uma());
    layers_[l].v_cache = GpuBuffer(*ctx_, kv_bytes / 2, BufferPlace::DeviceLocal, ctx_->is_uma());
  }
  upload_weights(w, weight_budget(*ctx_, reserved));
  // After the placer is gone: its own uploader shares the transfer queue's command pool with the background one.
  if (background_) background_->start();

  const RopeTable global = make_rope_table(cfg_.rope_global, cfg_.head_dim, ctx_len, w.rope_freq_factors);
  const std::vector<float> g_rows = global.rows_cos_then_sin();
  rope_global_ = GpuBuffer(*ctx_, g_rows.size() * sizeof(float), BufferPlace::DeviceLocal, ctx_->is_uma());
  rope_global_.upload(g_rows.data(), g_rows.size() * sizeof(float));
  if (std::find(cfg_.layer_sliding.begin(), cfg_.layer_sliding.end(), true) != cfg_.layer_sliding.end()) {
    const std::vector<float> l_rows = make_rope_table(cfg_.rope_local, cfg_.head_dim, ctx_len, {}).rows_cos_then_sin();
    rope_local_ = GpuBuffer(*ctx_, l_rows.size() * sizeof(float), BufferPlace::DeviceLocal, ctx_->is_uma());
    rope_local_.upload(l_rows.data(), l_rows.size() * sizeof(float));
  }

  if (gpu_layers_ < cfg_.n_layers) {
    ModelOptions cpu_opts = opts;
    cpu_opts.ctx = ctx_len;
    cpu_tail_ = make_cpu_layer_tail(src_, cfg_, cpu_opts, gpu_layers_);
  }
  info_.kv_bytes = reserved;  // the GPU layers' (a CPU tail's cache is not counted here)
  info_.placement += str_cat(", KV cache ", mib(reserved), " MiB", kv_f16 ? " (F16)" : "", " on the GPU, layers 0-",
                             gpu_layers_ - 1, " on the GPU");
  if (cpu_tail_) info_.placement += str_cat(", layers ", gpu_layers_, "-", cfg_.n_layers - 1, " and the head on the CPU");
  if (opts.kv_f16 && !kv_f16)
    info_.placement += " (this device has no 16-bit storage access: the GPU layers keep their KV cache in F32)";
}

void VulkanModel::upload_weights(const ModelWeights& w, uint64_t budget) {
  // UNICORN_VK_ASYNC_UPLOAD=0: every weight written before the first forward; =slow (tests): the writer pauses
  // before each layer, so the first forward surely overtakes it and has to wait for each layer.
  const char* async_env = std::getenv("UNICORN_VK_ASYNC_UPLOAD");
  const std::string async_mode = async_env != nullptr ? async_env : "";
  if (async_mode != "0") background_ = std::make_unique<BackgroundCopy>();
  if (async_mode == "slow") background_->set_pause_per_group(std::chrono::milliseconds(50));
  // Staged copies in the background only on a transfer queue of their own: the compute queue is the forward's, and
  // two threads may not submit to one queue unsynchronized.
  if (background_ && ctx_->has_transfer_queue()) {
    background_uploader_ = std::make_unique<hal::StagedUploader>(*ctx_);
    background_->set_group_end([up = background_uploader_.get()] { up->finish(); });
  }
  WeightPlacer placer(*ctx_, budget, background_.get(), background_uploader_.get());
  // Placement order = use order, so with a small budget the first layers get the fast memory.
  placer.set_group(-1);
  embed_ = placer.matrix(w.embed);
  for (int l = 0; l < gpu_layers_; ++l) {
    const LayerWeights& L = w.layers[l];
    GpuLayer& G = layers_[l];
    placer.set_group(l);
    G.attn_norm = placer.floats(L.attn_norm);
    G.wq = placer.matrix(L.wq);
    G.wk = placer.matrix(L.wk);
    G.wv = placer.matrix(L.wv);
    if (!L.q_norm.empty()) G.q_norm = placer.floats(L.q_norm);
    if (!L.k_norm.empty()) G.k_norm = placer.floats(L.k_norm);
    G.wo = placer.matrix(L.wo);
    if (!L.post_attn_norm.empty()) G.post_attn_norm = placer.floats(L.post_attn_norm);
    G.ffn_norm = placer.floats(L.ffn_norm);
    G.w_gate = placer.matrix(L.w_gate);
    G.w_up = placer.matrix(L.w_up);
    G.w_down = placer.matrix(L.w_down);
    if (!L.post_ffn_norm.empty()) G.post_ffn_norm = placer.floats(L.post_ffn_norm);
    if (cfg_.arch == ModelArch::Gemma3n) {
      G.altup_router_norm = placer.floats(L.altup_router_norm);
      // The router reads rmsnorm(x) / hidden; fused, the 1/hidden is folded into its weights (one dispatch less).
      std::vector<float> router = L.altup_router;
      if (fuse_) for (float& v : router) v /= static_cast<float>(cfg_.hidden);
      G.altup_router = placer.matrix(router, cfg_.altup_inputs, cfg_.hidden);
      G.altup_predict = placer.floats(L.altup_predict);
      G.altup_correct = placer.floats(L.altup_correct);
      if (!L.altup_out_scale.empty()) G.altup_out_scale = placer.floats(L.altup_out_scale);
      G.laurel_left = placer.matrix(L.laurel_left);
      G.laurel_right = placer.matrix(L.laurel_right);
      G.laurel_norm = placer.floats(L.laurel_norm);
      G.per_layer_gate = placer.matrix(L.per_layer_gate);
      G.per_layer_proj = placer.matrix(L.per_layer_proj);
      G.per_layer_post_norm = placer.floats(L.per_layer_post_norm);
    }
  }
  if (cfg_.arch == ModelArch::Gemma3n) {
    placer.set_group(-1);  // the per-layer inputs and AltUp streams are formed before layer 0
    per_layer_embed_ = placer.matrix(w.per_layer_embed);
    per_layer_model_proj_ = placer.matrix(w.per_layer_model_proj);
    per_layer_proj_norm_ = placer.floats(w.per_layer_proj_norm);
    for (const auto& m : w.altup_proj) altup_proj_.push_back(placer.matrix(m));
    placer.set_group(cfg_.n_layers);
    for (const auto& m : w.altup_unembed) altup_unembed_.push_back(placer.matrix(m));
  }
  placer.set_group(cfg_.n_layers);
  if (gpu_layers_ == cfg_.n_layers) {
    final_norm_ = placer.floats(w.final_norm);
    // A tied head reads the embedding's buffer again rather than a second copy.
    if (w.lm_head.data == w.embed.data) {
      lm_head_.dtype = embed_.dtype;
      lm_head_.rows = embed_.rows;
      lm_head_.cols = embed_.cols;
    } else {
      lm_head_ = placer.matrix(w.lm_head);
    }
  }
  placer.finish();
  info_.placement = "weights: " + placer.summary();
}

void VulkanModel::ensure_capacity(int n, int pos, bool all_logits) {
  const VulkanContext& c = *ctx_;
  const bool map = c.is_uma();
  auto floats = [&](uint64_t count) { return GpuBuffer(c, std::max<uint64_t>(count, 1) * 4, BufferPlace::DeviceLocal, map); };
  if (n > cap_) {
    cap_ = n;
    const uint64_t N = static_cast<uint64_t>(n);
    ids_ = GpuBuffer(c, N * 4, BufferPlace::HostVisible);
    x_ = floats(N * H_);
    xn_ = floats(N * H_);
    q_ = floats(N * q_dim_);
    k_ = floats(N * kv_dim_);
    v_ = floats(N * kv_dim_);
    att_ = floats(N * q_dim_);
    o_ = floats(N * H_);
    gate_ = floats(N * max_ffn_);
    up_ = floats(N * max_ffn_);
    ffo_ = floats(N * H_);
    row_ = floats(H_);
    // What crosses to a CPU tail: the hidden rows, or Gemma 3n's streams and per-layer inputs.
    if (cpu_tail_) {
      const bool g3n = cfg_.arch == ModelArch::Gemma3n;
      hidden_ = GpuBuffer(c, N * H_ * 4 * (g3n ? N_ : 1), BufferPlace::HostVisible);
      if (g3n) pli_host_ = GpuBuffer(c, N * LP_ * 4, BufferPlace::HostVisible);
    }
    if (cfg_.arch == ModelArch::Gemma3n) {
      pl_ids_ = GpuBuffer(c, N * 4, BufferPlace::HostVisible);
      streams_ = floats(N_ * N * H_);
      pred_ = floats(N_ * N * H_);
      pli_ = floats(N * LP_);
      plrow_ = floats(N * LP_);
      plil_ = floats(N * P_);
      lr_ = floats(N * static_cast<uint64_t>(cfg_.laurel_rank));
      laurel_ = floats(N * H_);
      h_ = floats(N * H_);
      active_ = floats(N * H_);
      mod_ = floats(N * N_);
      tmp_ = floats(N * H_);
      gatep_ = floats(N * P_);
    }
  }
  // Scratch of the attention kernels: per-query score rows (attention_rows, head_dim > 256) or split-K partials.
  const uint64_t scores =
      std::max<uint64_t>(uint64_t(n) * cfg_.n_heads * (uint64_t(pos) + n),
                         VulkanKernels::attention_decode_partials(static_cast<uint32_t>(cfg_.n_heads),
                                                                  static_cast<uint32_t>(cfg_.head_dim),
                                                                  static_cast<uint32_t>(pos + n)));
  if (scores > scores_cap_) {
    scores_cap_ = std::max(scores, scores_cap_ * 2);
    scores_ = floats(scores_cap_);
  }
  const int logit_rows = all_logits ? n : 1;
  if (!cpu_tail_ && logit_rows > logits_cap_) {
    logits_cap_ = logit_rows;
    logits_ = GpuBuffer(c, uint64_t(logit_rows) * cfg_.vocab_size * 4, BufferPlace::HostVisible);
    // On a discrete GPU the head writes its logits to device memory and one copy moves them to the host-visible
    // buffer: written from the shader, 4-byte stores cross PCIe one by one and held the head back.
    if (stage_logits_) logits_dev_ = GpuBuffer(c, uint64_t(logit_rows) * cfg_.vocab_size * 4, BufferPlace::DeviceLocal);
  }
}

void VulkanModel::forward(std::span<const int32_t> tokens, int pos, float* logits, bool all_logits) {
  const int n = static_cast<int>(tokens.size());
  check_forward_request(info_, n, pos, n_cached_);
  check_token_ids(info_, tokens);
  n_cached_ = pos;
  const auto start = std::chrono::steady_clock::now();
  host_mark_ = start;
  try {
    // Long prompts run in chunks of prefill_chunk_ tokens, so activation buffers and grids stay bounded by the chunk
    // (a 32k-token prompt would otherwise size gate/up for all of it at once). Without all_logits the earlier chunks
    // skip the head (logits null).
    for (int off = 0; off < n; off += prefill_chunk_) {
      const int len = std::min(prefill_chunk_, n - off);
      float* out = off + len < n ? nullptr : logits;
      if (all_logits) out = logits + static_cast<size_t>(off) * cfg_.vocab_size;
      record_and_run(tokens.subspan(static_cast<size_t>(off), static_cast<size_t>(len)), pos + off, out, all_logits);
    }
  } catch (...) {
    rec_->discard();  // a half-recorded batch must not run with the next one
    throw;
  }
  ++times_.forwards;
  times_.total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void VulkanModel::record_and_run(std::span<const int32_t> tokens, int pos, float* logits, bool all_logits) {
  const int n = static_cast<int>(tokens.size());
  ensure_capacity(n, pos, all_logits);
  std::memcpy(ids_.mapped(), tokens.data(), sizeof(int32_t) * tokens.size());

  // The first forward records each layer once its weights (and the next layer's first norm, which fused kernels
  // apply at the end of a layer) are written; the GPU runs the layers recorded before meanwhile.
  weights_ready(-1);
  kernels_->get_rows(*rec_, embed_.dtype, embed_.buf, 0, embed_.rows, embed_.cols, ids_, static_cast<uint32_t>(n), x_);
  if (cfg_.embed_scale != 1.0)
    kernels_->unary(*rec_, x_, x_, static_cast<uint32_t>(n) * H_, hal::UnaryOp::Scale,
                    static_cast<float>(cfg_.embed_scale));
  if (cfg_.arch == ModelArch::Gemma3n) {
    gemma3n_inputs(tokens);
    for (int l = 0; l < gpu_layers_; ++l) {
      weights_ready(l + 1);
      layer_gemma3n(l, n, pos);
    }
    gemma3n_finish_streams(n);
  } else {
    for (int l = 0; l < gpu_layers_; ++l) {
      weights_ready(l + 1);
      layer_standard(l, n, pos);
    }
  }
  weights_ready(cfg_.n_layers);
  if (background_) {  // all written: later forwards wait for nothing
    background_->finish();
    background_.reset();
    background_uploader_.reset();
  }

  if (cpu_tail_) {
    // The hidden state (Gemma 3n: the streams and per-layer inputs) crosses to the CPU once; the tail runs the
    // rest and the head (whose logits an earlier chunk of a prompt drops).
    if (logits == nullptr) {
      chunk_logits_.resize(static_cast<size_t>(cfg_.vocab_size));
      logits = chunk_logits_.data();
    }
    if (cfg_.arch == ModelArch::Gemma3n) {
      rec_->copy(streams_, 0, hidden_, 0, uint64_t(N_) * n * H_ * 4);
      rec_->copy(pli_, 0, pli_host_, 0, uint64_t(n) * LP_ * 4);
      submit();
      cpu_tail_->forward_streams(static_cast<const float*>(hidden_.mapped()),
                                 static_cast<const float*>(pli_host_.mapped()), n, pos, logits, all_logits);
    } else {
      rec_->copy(x_, 0, hidden_, 0, uint64_t(n) * H_ * 4);
      submit();
      cpu_tail_->forward_hidden(static_cast<const float*>(hidden_.mapped()), n, pos, logits, all_logits);
    }
    n_cached_ = pos + n;
    return;
  }
  if (logits == nullptr) {  // an earlier chunk of a prompt: its KV entries are written, no head needed
    submit();
    n_cached_ = pos + n;
    return;
  }
  const uint32_t rows = all_logits ? static_cast<uint32_t>(n) : 1u;
  const GpuBuffer* head_in = &xn_;
  if (cfg_.arch == ModelArch::Gemma3n) {
    gemma3n_output(n, all_logits ? 0 : n - 1, static_cast<int>(rows));
  } else {
    // Fused: the last layer left the output-normed rows in xn_; otherwise norm the rows the head reads.
    const bool normed = fuse_ && gpu_layers_ > 0;
    const GpuBuffer& src = normed ? xn_ : x_;
    if (!all_logits && n > 1) {
      rec_->copy(src, uint64_t(n - 1) * H_ * 4, row_, 0, uint64_t(H_) * 4);
      if (normed) head_in = &row_;
      else norm(row_, final_norm_, xn_, H_, rows);
    } else if (!normed) {
      norm(x_, final_norm_, xn_, H_, rows);
    }
  }
  const GpuMatrix& head = lm_head_.buf.handle() != VK_NULL_HANDLE ? lm_head_ : embed_;
  const GpuBuffer& out = stage_logits_ ? logits_dev_ : logits_;
  kernels_->matvec(*rec_, lm_head_.dtype, head.buf, 0, lm_head_.rows, lm_head_.cols, *head_in, out, rows);
  const uint32_t n_logits = rows * static_cast<uint32_t>(cfg_.vocab_size);
  if (cfg_.final_softcap > 0)
    kernels_->unary(*rec_, out, out, n_logits, hal::UnaryOp::SoftCap, static_cast<float>(cfg_.final_softcap));
  if (stage_logits_) rec_->copy(logits_dev_, 0, logits_, 0, uint64_t(n_logits) * 4);
  submit();
  logits_.download(logits, uint64_t(n_logits) * 4);
  n_cached_ = pos + n;
}

void VulkanModel::submit() {
  const auto recorded = std::chrono::steady_clock::now();
  rec_->submit_and_wait();
  times_.record_ms += std::chrono::duration<double, std::milli>(recorded - host_mark_).count();
  times_.wait_ms += rec_->last_wait_ms();
  times_.gpu_ms += rec_->last_span_ms();
  host_mark_ = std::chrono::steady_clock::now();
  for (const hal::DispatchTime& t : rec_->timings()) {
    OpTime& o = op_times_[t.label];
    o.ms += t.ms;
    ++o.calls;
  }
}

void VulkanModel::layer_standard(int l, int n, int pos) {
  const GpuLayer& G = layers_[l];
  const bool gemma = cfg_.arch != ModelArch::Llama;
  const uint32_t N = static_cast<uint32_t>(n), rows_h = N * H_;
  const RmsWeight mode = cfg_.norm_adds_one ? RmsWeight::OnePlusWeight : RmsWeight::Weight;
  // With fusion, xn_ already holds this layer's normed input (the previous layer's last op, or the one below).
  if (!fuse_ || l == 0) norm(x_, G.attn_norm, xn_, H_, N);
  attention(l, xn_, n, pos, o_);
  if (fuse_) {
    kernels_->add_rmsnorm(*rec_, x_, o_, gemma ? &G.post_attn_norm : nullptr, mode, G.ffn_norm, mode, xn_, H_, N,
                          eps_);
  } else {
    if (gemma) norm(o_, G.post_attn_norm, o_, H_, N);
    kernels_->add(*rec_, x_, o_, x_, rows_h, rows_h);
    norm(x_, G.ffn_norm, xn_, H_, N);
  }
  mlp(l, xn_, n, ffo_);
  // The next norm: the next GPU layer's input norm or, after the last layer, the output norm (all rows; the head
  // picks its row). None when a CPU tail takes the hidden state.
  const GpuBuffer* next = l + 1 < gpu_layers_ ? &layers_[l + 1].attn_norm : (cpu_tail_ ? nullptr : &final_norm_);
  if (fuse_ && next != nullptr) {
    kernels_->add_rmsnorm(*rec_, x_, ffo_, gemma ? &G.post_ffn_norm : nullptr, mode, *next, mode, xn_, H_, N, eps_);
  } else {
    if (gemma) norm(ffo_, G.post_ffn_norm, ffo_, H_, N);
    kernels_->add(*rec_, x_, ffo_, x_, rows_h, rows_h);
  }
}

// ---- Gemma 3n (mirrors CpuModel's gemma3n_* step by step; streams are [N][n * hidden]) ----

void VulkanModel::gemma3n_inputs(std::span<const int32_t> tokens) {
  const uint32_t n = static_cast<uint32_t>(tokens.size());
  const uint64_t S = uint64_t(n) * H_;
  // Per-layer inputs: (normed projection of the embedding + per-layer token embedding) / sqrt(2).
  matvec(per_layer_model_proj_, x_, pli_, static_cast<int>(n));
  scale(pli_, uint64_t(n) * LP_, 1.0 / std::sqrt(static_cast<double>(H_)));
  kernels_->rmsnorm(*rec_, pli_, &per_layer_proj_norm_, pli_, P_, n * static_cast<uint32_t>(cfg_.n_layers), eps_,
                    RmsWeight::Weight);
  // Ids past the per-layer table (multimodal soft tokens) read row 0, the padding row.
  auto* ids = static_cast<int32_t*>(pl_ids_.mapped());
  for (uint32_t t = 0; t < n; ++t) ids[t] = tokens[t] < cfg_.per_layer_vocab ? tokens[t] : 0;
  if (per_layer_embed_.any_width) {
    // An F32 table of odd width (tiny models): the rows are copied, one region per token.
    const uint64_t row_bytes = uint64_t(LP_) * 4;
    for (uint32_t t = 0; t < n; ++t)
      rec_->copy(per_layer_embed_.buf, uint64_t(ids[t]) * row_bytes, plrow_, t * row_bytes, row_bytes);
  } else {
    kernels_->get_rows(*rec_, per_layer_embed_.dtype, per_layer_embed_.buf, 0, per_layer_embed_.rows,
                       per_layer_embed_.cols, pl_ids_, n, plrow_);
  }
  scale(plrow_, uint64_t(n) * LP_, std::sqrt(static_cast<double>(P_)));
  kernels_->add(*rec_, pli_, plrow_, pli_, n * LP_, n * LP_);
  scale(pli_, uint64_t(n) * LP_, 1.0 / std::sqrt(2.0));
  // AltUp streams: the embedding, plus N - 1 projections of it rescaled to its magnitude.
  rec_->copy(x_, 0, streams_, 0, S * 4);
  for (uint32_t s = 1; s < N_; ++s) {
    matvec(altup_proj_[s - 1], x_, tmp_, static_cast<int>(n));
    kernels_->rms_match(*rec_, tmp_, x_, H_, n);
    rec_->copy(tmp_, 0, streams_, s * S * 4, S * 4);
  }
}

void VulkanModel::altup_modalities(const GpuLayer& G, const GpuBuffer& x, int n) {
  const uint32_t N = static_cast<uint32_t>(n);
  kernels_->rmsnorm(*rec_, x, &G.altup_router_norm, tmp_, H_, N, eps_, RmsWeight::Weight);
  scale(tmp_, uint64_t(N) * H_, 1.0 / static_cast<double>(H_));
  matvec(G.altup_router, tmp_, mod_, n);
  kernels_->unary(*rec_, mod_, mod_, N * N_, hal::UnaryOp::SoftCap, 1.0f);  // tanh
}

void VulkanModel::layer_gemma3n(int l, int n, int pos) {
  if (fuse_) return layer_gemma3n_fused(l, n, pos);
  const GpuLayer& G = layers_[l];
  const uint32_t N = static_cast<uint32_t>(n);
  const uint32_t S = N * H_;
  const uint64_t S_bytes = uint64_t(S) * 4;

  // AltUp predict: every stream becomes itself plus a token-dependent mix of all streams.
  rec_->copy(streams_, A_ * S_bytes, active_, 0, S_bytes);
  altup_modalities(G, active_, n);
  kernels_->altup_predict(*rec_, streams_, mod_, G.altup_predict, pred_, N_, H_, N, S);
  rec_->copy(pred_, A_ * S_bytes, active_, 0, S_bytes);

  // Attention and LAuReL on the active prediction.
  norm(active_, G.attn_norm, xn_, H_, N);
  matvec(G.laurel_left, xn_, lr_, n);
  matvec(G.laurel_right, lr_, laurel_, n);
  norm(laurel_, G.laurel_norm, laurel_, H_, N);
  kernels_->add(*rec_, laurel_, xn_, laurel_, S, S);
  attention(l, xn_, n, pos, o_);
  norm(o_, G.post_attn_norm, o_, H_, N);
  kernels_->add(*rec_, active_, o_, h_, S, S);
  kernels_->add(*rec_, h_, laurel_, h_, S, S);
  scale(h_, S, 1.0 / std::sqrt(2.0));
  norm(h_, G.ffn_norm, xn_, H_, N);
  mlp(l, xn_, n, ffo_);
  norm(ffo_, G.post_ffn_norm, ffo_, H_, N);
  kernels_->add(*rec_, h_, ffo_, h_, S, S);  // the layer's output for the active stream
  altup_modalities(G, h_, n);

  // AltUp correct: spread the innovation of the active stream over all streams.
  kernels_->altup_correct(*rec_, pred_, h_, mod_, G.altup_correct, streams_, N_, H_, N, S, A_);

  // Per-layer input: gate the corrected active stream with this layer's per-layer embedding, add to the others.
  rec_->copy(streams_, A_ * S_bytes, tmp_, 0, S_bytes);
  if (cfg_.altup_correct_scale) kernels_->mul(*rec_, tmp_, G.altup_out_scale, tmp_, S, H_);
  matvec(G.per_layer_gate, tmp_, gatep_, n);
  rec_->copy_rows(pli_, uint64_t(l) * P_ * 4, uint64_t(LP_) * 4, plil_, 0, uint64_t(P_) * 4, uint64_t(P_) * 4, N);
  kernels_->unary(*rec_, gatep_, gatep_, N * P_, hal::UnaryOp::GeluTanh);
  kernels_->mul(*rec_, gatep_, plil_, gatep_, N * P_, N * P_);
  matvec(G.per_layer_proj, gatep_, o_, n);
  norm(o_, G.per_layer_post_norm, o_, H_, N);
  kernels_->add_to_streams(*rec_, streams_, o_, N_, 1, S, S);
}

// The same layer in fused kernels: 12 dependent steps instead of 26 (Gemma 3n decode is bound by their count). The
// per-layer output's norm and add to the streams are left to the next layer's altup_enter (or
// gemma3n_finish_streams after the last GPU layer), so o_ must keep it until then.
void VulkanModel::layer_gemma3n_fused(int l, int n, int pos) {
  const GpuLayer& G = layers_[l];
  const uint32_t N = static_cast<uint32_t>(n);
  const RmsWeight mode = cfg_.norm_adds_one ? RmsWeight::OnePlusWeight : RmsWeight::Weight;
  const VulkanKernels::Streams S = streams(n);

  // The previous layer's per-layer add, then AltUp predict and the attention norm of the active prediction.
  VulkanKernels::AltupEnter enter;
  if (l > 0) {
    enter.pl = &o_;
    enter.pl_w = &layers_[l - 1].per_layer_post_norm;
    enter.pl_mode = mode;
  }
  enter.router_w = &G.altup_router_norm;
  enter.router = &G.altup_router.buf;
  enter.coefs = &G.altup_predict;
  enter.norm_w = &G.attn_norm;
  enter.mode = mode;
  enter.pred = &pred_;
  enter.active = &active_;
  enter.xn = &xn_;
  kernels_->altup_enter(*rec_, S, eps_, enter);

  // LAuReL's two products run beside the q/k/v projections and the RoPE step (independent of them).
  attention(l, xn_, n, pos, o_, [&](int step) {
    if (step == 0) matvec(G.laurel_left, xn_, lr_, n);
    else matvec(G.laurel_right, lr_, laurel_, n);
  });
  // h = (active + post_attn_norm(o) + xn + laurel_norm(laurel)) / sqrt(2), kept in active_; xn_ = ffn_norm(h).
  hal::MoreAddends more;
  more.d2 = &laurel_;
  more.d2_w = &G.laurel_norm;
  more.d3 = &xn_;
  more.scale = static_cast<float>(1.0 / std::sqrt(2.0));
  kernels_->add_rmsnorm(*rec_, active_, o_, &G.post_attn_norm, mode, G.ffn_norm, mode, xn_, H_, N, eps_, more);
  mlp(l, xn_, n, ffo_);

  // h += post_ffn_norm(ffo), the router on it, AltUp correct, and the per-layer gate's input into tmp_.
  kernels_->altup_exit(*rec_, S, eps_, active_, ffo_, G.post_ffn_norm, mode, G.altup_router_norm, G.altup_router.buf,
                       G.altup_correct, pred_, cfg_.altup_correct_scale ? &G.altup_out_scale : nullptr, tmp_);
  matvec(G.per_layer_gate, tmp_, gatep_, n);
  // gelu(gate) * this layer's slice of the per-layer inputs, read in place.
  kernels_->glu_strided(*rec_, gatep_, pli_, gatep_, N * P_, hal::GluActivation::GeluTanh, P_, LP_,
                        static_cast<uint32_t>(l) * P_);
  matvec(G.per_layer_proj, gatep_, o_, n);
}

void VulkanModel::gemma3n_finish_streams(int n) {
  if (!fuse_ || gpu_layers_ == 0) return;
  VulkanKernels::AltupEnter enter;
  enter.pl = &o_;
  enter.pl_w = &layers_[gpu_layers_ - 1].per_layer_post_norm;
  enter.pl_mode = cfg_.norm_adds_one ? RmsWeight::OnePlusWeight : RmsWeight::Weight;
  enter.predict = false;
  kernels_->altup_enter(*rec_, streams(n), eps_, enter);
}

void VulkanModel::gemma3n_output(int n, int first, int rows) {
  const uint64_t S_bytes = uint64_t(n) * H_ * 4;
  const uint64_t off = uint64_t(first) * H_ * 4, bytes = uint64_t(rows) * H_ * 4;
  const uint32_t R = static_cast<uint32_t>(rows);
  rec_->copy(streams_, off, xn_, 0, bytes);  // the sum of the unembedded streams, starting with stream 0
  rec_->copy(streams_, off, h_, 0, bytes);   // stream 0 again: the magnitude the others are rescaled to
  for (uint32_t s = 1; s < N_; ++s) {
    rec_->copy(streams_, s * S_bytes + off, tmp_, 0, bytes);
    matvec(altup_unembed_[s - 1], tmp_, laurel_, rows);
    kernels_->rms_match(*rec_, laurel_, h_, H_, R);
    kernels_->add(*rec_, xn_, laurel_, xn_, R * H_, R * H_);
  }
  scale(xn_, uint64_t(R) * H_, 1.0 / static_cast<double>(N_));
  norm(xn_, final_norm_, xn_, H_, R);
}

void VulkanModel::attention(int l, const GpuBuffer& in, int n, int pos, const GpuBuffer& out,
                            const std::function<void(int)>& beside) {
  const GpuLayer& G = layers_[l];
  const uint32_t hd = static_cast<uint32_t>(cfg_.head_dim), nh = static_cast<uint32_t>(cfg_.n_heads);
  const uint32_t nkv = static_cast<uint32_t>(cfg_.n_kv_heads), N = static_cast<uint32_t>(n);
  const bool sliding = cfg_.layer_sliding[l];
  const GpuBuffer& rope = sliding ? rope_local_ : rope_global_;
  const bool owns_kv = cfg_.kv_source[l] == l;
  const RmsWeight head_norm = cfg_.norm_adds_one ? RmsWeight::OnePlusWeight : RmsWeight::Weight;
  rec_->begin_concurrent();  // q, k and v read the same input and write different buffers
  matvec(G.wq, in, q_, n);
  if (owns_kv) {
    matvec(G.wk, in, k_, n);
    matvec(G.wv, in, v_, n);
  }
  if (beside) beside(0);
  rec_->end_concurrent();
  const bool has_q_norm = G.q_norm.handle() != VK_NULL_HANDLE, has_k_norm = G.k_norm.handle() != VK_NULL_HANDLE;
  const bool v_norm = cfg_.arch == ModelArch::Gemma3n;
  if (fuse_) {
    VulkanKernels::HeadNorms norms;
    norms.q_w = has_q_norm ? &G.q_norm : nullptr;
    norms.k_w = has_k_norm ? &G.k_norm : nullptr;
    norms.mode = head_norm;
    norms.v_norm = v_norm;
    norms.eps = eps_;
    rec_->begin_concurrent();
    kernels_->rope_store(*rec_, q_, k_, v_, rope, static_cast<uint32_t>(pos) * hd, nh, owns_kv ? nkv : 0u, hd,
                         cfg_.rope_interleaved, N, G.k_cache, G.v_cache, static_cast<uint32_t>(pos), norms);
    if (beside) beside(1);
    rec_->end_concurrent();
  } else {
    if (has_q_norm) kernels_->rmsnorm(*rec_, q_, &G.q_norm, q_, hd, N * nh, eps_, head_norm);
    kernels_->rope(*rec_, q_, rope, static_cast<uint32_t>(pos) * hd, nh, hd, cfg_.rope_interleaved, N);
    if (owns_kv) {
      if (has_k_norm) kernels_->rmsnorm(*rec_, k_, &G.k_norm, k_, hd, N * nkv, eps_, head_norm);
      if (v_norm) kernels_->rmsnorm(*rec_, v_, nullptr, v_, hd, N * nkv, eps_, RmsWeight::None);
      // Rotates the keys and appends keys and values to the cache in one dispatch.
      kernels_->kv_store(*rec_, k_, v_, rope, static_cast<uint32_t>(pos) * hd, nkv, hd, cfg_.rope_interleaved, N,
                         G.k_cache, G.v_cache, static_cast<uint32_t>(pos));
    }
    if (beside) beside(1);
  }
  const GpuLayer& src = layers_[cfg_.kv_source[l]];
  const float scale = cfg_.query_scale > 0 ? static_cast<float>(cfg_.query_scale) : 1.0f / std::sqrt(static_cast<float>(hd));
  const float cap = static_cast<float>(cfg_.attn_softcap);
  const uint32_t window = sliding ? static_cast<uint32_t>(cfg_.sliding_window) : 0u;
  // The tiled kernels hold a head in registers/shared memory up to 256 wide; wider heads take the plain ones.
  const bool tiled = hd <= 256;
  if (n == 1) {
    const uint32_t p = static_cast<uint32_t>(pos);
    const uint32_t start = window > 0 && p + 1 > window ? p + 1 - window : 0;
    const uint32_t len = p - start + 1;
    // Split-K once one workgroup per head would leave most of the GPU idle on a long context.
    if (tiled && len > 2 * VulkanKernels::kDecodeChunk)
      kernels_->attention_decode_split(*rec_, q_, src.k_cache, src.v_cache, scores_, att_, nh, nkv, hd, start, len,
                                       scale, cap);
    else
      kernels_->attention_decode(*rec_, q_, src.k_cache, src.v_cache, scores_, att_, nh, nkv, hd, start, len, scale,
                                 cap);
  } else if (tiled) {
    kernels_->attention_prefill(*rec_, q_, src.k_cache, src.v_cache, att_, N, nh, nkv, hd, static_cast<uint32_t>(pos),
                                window, scale, cap);
  } else {
    kernels_->attention_rows(*rec_, q_, src.k_cache, src.v_cache, scores_, att_, nh, nkv, hd,
                             static_cast<uint32_t>(pos), N, window, scale, cap);
  }
  matvec(G.wo, att_, out, n);
}

void VulkanModel::mlp(int l, const GpuBuffer& in, int n, const GpuBuffer& out) {
  const GpuLayer& G = layers_[l];
  const uint32_t F = static_cast<uint32_t>(cfg_.ffn[l]);
  const float mult = cfg_.sparsity_multiplier[l];
  const hal::GluActivation act = cfg_.gelu_mlp ? hal::GluActivation::GeluTanh : hal::GluActivation::Silu;
  // Decode with Q4_K gate/up and no sparsity between projection and activation: one fused dispatch.
  if (fuse_ && n < static_cast<int>(VulkanKernels::kMatmulMinTokens) && !std::isfinite(mult) && !G.w_gate.any_width &&
      VulkanKernels::matvec_glu_supports(G.w_gate.dtype, G.w_up.dtype, G.w_gate.cols)) {
    kernels_->matvec_glu(*rec_, G.w_gate.dtype, G.w_gate.buf, G.w_up.buf, F, G.w_gate.cols, in, gate_,
                         static_cast<uint32_t>(n), act);
  } else {
    rec_->begin_concurrent();
    matvec(G.w_gate, in, gate_, n);
    matvec(G.w_up, in, up_, n);
    rec_->end_concurrent();
    if (std::isfinite(mult)) kernels_->gaussian_topk(*rec_, gate_, F, static_cast<uint32_t>(n), mult);
    kernels_->glu(*rec_, gate_, up_, gate_, static_cast<uint32_t>(n) * F, act);
  }
  matvec(G.w_down, gate_, out, n);
}

std::string VulkanModel::profile_report() const {
  if (!profile_) return {};
  std::vector<std::pair<std::string, OpTime>> ops(op_times_.begin(), op_times_.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  double total = 0;
  for (const auto& o : ops) total += o.second.ms;
  std::ostringstream s;
  char line[256];
  std::snprintf(line, sizeof line, "GPU time by op on %s (timestamp queries; %.2f ms in all)\n",
                ctx_->device_name().c_str(), total);
  s << line;
  std::snprintf(line, sizeof line, "%-24s %10s %12s %10s %7s\n", "op", "calls", "total ms", "us/call", "share");
  s << line;
  for (const auto& [label, t] : ops) {
    std::snprintf(line, sizeof line, "%-24s %10llu %12.3f %10.2f %6.1f%%\n", label.c_str(),
                  static_cast<unsigned long long>(t.calls), t.ms, 1000.0 * t.ms / static_cast<double>(t.calls),
                  total > 0 ? 100.0 * t.ms / total : 0.0);
    s << line;
  }
  if (!ctx_->has_timestamps()) s << "(this queue has no timestamps: nothing was timed)\n";
  if (times_.forwards > 0) {
    const double f = static_cast<double>(times_.forwards);
    std::snprintf(line, sizeof line,
                  "per forward (%llu): %.3f ms in all on the host, %.3f ms of it recording (GPU already running its "
                  "first parts), %.3f ms waiting for the last; %u dispatches per submission\n",
                  static_cast<unsigned long long>(times_.forwards), times_.total_ms / f, times_.record_ms / f,
                  times_.wait_ms / f, rec_->submit_every());
    s << line;
    std::snprintf(line, sizeof line,
                  "GPU per forward: %.3f ms from first command to last, %.3f ms of it in dispatches (the rest: "
                  "barriers and gaps)\n",
                  times_.gpu_ms / f, total / f);
    s << line;
  }
  return s.str();
}

}  // namespace

std::unique_ptr<Model> make_vulkan_model(std::unique_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts,
                                         const std::string& vulkan_spec) {
  std::unique_ptr<VulkanContext> ctx;
  try {
    ctx = VulkanContext::create(vulkan_spec);
  } catch (const Error& e) {
    throw Error(str_cat("--device ", opts.device, ": ", e.what()));
  }
  return std::make_unique<VulkanModel>(std::move(src), std::move(cfg), opts, std::move(ctx));
}

#endif

}  // namespace unicorn
