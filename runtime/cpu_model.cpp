#include "runtime/cpu_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/half.h"
#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "quant/quant.h"
#include "runtime/model_weights.h"
#include "runtime/rope_table.h"

namespace unicorn {
namespace {

namespace ops = kernels;

float mean_square(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return static_cast<float>(s / static_cast<double>(n));
}

// Gemma 3n's gaussian top-k: keeps only what exceeds mean + std * multiplier, shifted down by that cutoff.
void gaussian_topk(float* x, int64_t n, float multiplier) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float std_dev = static_cast<float>(std::sqrt(var / static_cast<double>(n)));  // population std
  const float cutoff = static_cast<float>(mean) + std_dev * multiplier;
  for (int64_t i = 0; i < n; ++i) x[i] = std::max(x[i] - cutoff, 0.0f);
}

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] / cap) * cap;
}

// Per-layer key/value storage, row = n_kv_heads * head_dim values. Full-attention layers hold all `ctx` positions;
// sliding-window layers a ring of `slots` rows where position p lives in row p % slots.
struct KvCache {
  std::vector<float> k, v;
  std::vector<uint16_t> k16, v16;
  int slots = 0;
  size_t row(int position) const { return static_cast<size_t>(position % slots); }
};

// CpuModel: owns the ModelSource (mapped weights), the bound weights, the KV cache, activation buffers sized for
// the largest batch seen, and a thread pool; not thread-safe. Per forward: ~2 * params FLOPs per token plus
// attention over the cached positions.
class CpuModel final : public Model, public CpuLayerTail {
 public:
  // first_layer > 0: a hybrid model's CPU tail (layers before it run elsewhere and have no KV cache here).
  CpuModel(std::shared_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts, int first_layer = 0);

  const ModelInfo& info() const override { return info_; }
  const Metadata& metadata() const override { return src_->metadata(); }
  void reset() override { n_cached_ = 0; }
  void forward(std::span<const int32_t> tokens, int pos, float* logits, bool all_logits) override;
  void forward_hidden(const float* hidden, int n, int pos, float* logits, bool all_logits) override;
  void forward_streams(const float* streams, const float* per_layer, int n, int pos, float* logits,
                       bool all_logits) override;

 private:
  void check_positions(int n, int pos) const;
  void layers_and_head(int n, int pos, float* logits, bool all_logits);
  struct AttnJob {
    int layer, n, pos;
  };

  void ensure_capacity(int n);
  // Runs positions [pos, pos + n) in chunks of at most chunk_ tokens (all at once without sliding rings);
  // load_inputs(done, m) fills x_ (and the Gemma 3n inputs) with the rows [done, done + m).
  template <typename LoadInputs>
  void run_in_chunks(int n, int pos, float* logits, bool all_logits, const LoadInputs& load_inputs);
  void norm_rows(const float* x, const std::vector<float>& w, int64_t rows, int64_t dim, float* out) const {
    for (int64_t r = 0; r < rows; ++r)
      ops::rmsnorm(x + r * dim, w.empty() ? nullptr : w.data(), dim, eps_, cfg_.norm_adds_one, out + r * dim);
  }
  void matmul(const kernels::WeightMatrix& w, const float* x, int n, float* y) {
    kernels::matmul(w, x, n, y, pool_.get());
  }
  void embed(std::span<const int32_t> tokens);
  void layer_standard(int l, int n, int pos);
  void layer_gemma3n(int l, int n, int pos);
  void gemma3n_inputs(std::span<const int32_t> tokens);
  void gemma3n_output(int first, int rows, float* out);
  void altup_modalities(const LayerWeights& L, const float* x, float* mod);
  void attention(int l, const float* in, int n, int pos, float* out);
  void attend_one(const AttnJob& job, int thread, size_t index);
  void mlp(int l, const float* in, int n, float* out);
  float* stream(std::vector<float>& buf, int s) { return buf.data() + static_cast<size_t>(s) * cap_ * H_; }

  std::shared_ptr<ModelSource> src_;
  ModelConfig cfg_;
  int first_layer_ = 0;
  ModelWeights w_;
  ModelInfo info_;
  std::unique_ptr<ThreadPool> pool_;
  bool kv_f16_ = false;
  float eps_ = 1e-6f;
  int64_t H_ = 0, q_dim_ = 0, kv_dim_ = 0, max_ffn_ = 0;
  RopeTable rope_global_, rope_local_;
  std::vector<KvCache> kv_;
  // Sliding-window layers: a forward runs at most chunk_ tokens at a time, and their rings hold window - 1 + chunk_
  // rows, so every query of a chunk still finds its window's keys (the chunk's own rows overwrite only positions
  // older than any of its queries can see). 0 = no sliding layers (no chunking).
  int chunk_ = 0;
  int n_cached_ = 0;
  int cap_ = 0;  // tokens the activation buffers hold

  // Activations (capacity cap_ rows each).
  std::vector<float> x_, xn_, q_, k_, v_, att_, o_, gate_, up_, ffo_;
  // Gemma 3n.
  std::vector<float> streams_, pred_, pli_, lr_, laurel_, h_, mod_, coef_, gatep_, tmp_, plrow_, router_tmp_;
  std::vector<float> scratch_;  // per thread: scores [ctx] + key row + value row + output accumulator
  size_t scratch_stride_ = 0;
};

CpuModel::CpuModel(std::shared_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts, int first_layer)
    : src_(std::move(src)), cfg_(std::move(cfg)), first_layer_(first_layer) {
  w_ = bind_weights(*src_, cfg_);
  if (first_layer_ < 0 || first_layer_ >= cfg_.n_layers)
    throw Error(str_cat("CPU layers start at ", first_layer_, ", outside the model's ", cfg_.n_layers, " layers"));
  if (!kv_sources_within(cfg_, first_layer_))
    throw Error(str_cat("CPU layers from ", first_layer_, ": a later layer reuses the KV cache of an earlier one ",
                        "below it (KV sharing), so the split must come before that layer"));
  if (opts.ctx < 0) throw Error(str_cat("context size must not be negative (got ", opts.ctx, ")"));
  const int ctx = opts.ctx > 0 ? opts.ctx : std::min(cfg_.max_ctx, ModelOptions::kDefaultCtxCap);
  const int threads = opts.threads > 0 ? opts.threads : physical_core_count();
  pool_ = std::make_unique<ThreadPool>(threads);
  kv_f16_ = opts.kv_f16;
  eps_ = static_cast<float>(cfg_.norm_eps);
  H_ = cfg_.hidden;
  q_dim_ = int64_t{cfg_.n_heads} * cfg_.head_dim;
  kv_dim_ = int64_t{cfg_.n_kv_heads} * cfg_.head_dim;
  for (int f : cfg_.ffn) max_ffn_ = std::max<int64_t>(max_ffn_, f);

  info_ = describe_model(cfg_, w_.bytes, ctx);

  rope_global_ = make_rope_table(cfg_.rope_global, cfg_.head_dim, ctx, w_.rope_freq_factors);
  bool any_sliding = false;
  for (bool s : cfg_.layer_sliding) any_sliding |= s;
  if (any_sliding) rope_local_ = make_rope_table(cfg_.rope_local, cfg_.head_dim, ctx, {});

  kv_.resize(cfg_.n_layers);
  // Chunks of one window: rings of 2 * window - 1 rows, used only where that is smaller than the context.
  const int64_t ring_rows = 2 * int64_t{cfg_.sliding_window} - 1;
  if (any_sliding && ring_rows < ctx) chunk_ = cfg_.sliding_window;
  for (int l = 0; l < cfg_.n_layers; ++l) {
    if (cfg_.kv_source[l] != l || l < first_layer_) continue;
    kv_[l].slots = chunk_ > 0 && cfg_.layer_sliding[l] ? static_cast<int>(ring_rows) : ctx;
    const size_t kv_elems = static_cast<size_t>(kv_[l].slots) * static_cast<size_t>(kv_dim_);
    info_.kv_bytes += 2 * kv_elems * (kv_f16_ ? sizeof(uint16_t) : sizeof(float));
    if (kv_f16_) {
      kv_[l].k16.assign(kv_elems, 0);
      kv_[l].v16.assign(kv_elems, 0);
    } else {
      kv_[l].k.assign(kv_elems, 0.0f);
      kv_[l].v.assign(kv_elems, 0.0f);
    }
  }
  scratch_stride_ = static_cast<size_t>(ctx) + 3 * static_cast<size_t>(cfg_.head_dim) + 16;
  scratch_.assign(scratch_stride_ * static_cast<size_t>(pool_->size()), 0.0f);
  if (cfg_.arch == ModelArch::Gemma3n) {
    plrow_.resize(static_cast<size_t>(cfg_.n_layers) * cfg_.per_layer_dim);
    router_tmp_.resize(static_cast<size_t>(H_));
  }
}

void CpuModel::ensure_capacity(int n) {
  if (n <= cap_) return;
  cap_ = n;
  const size_t c = static_cast<size_t>(n);
  x_.assign(c * H_, 0.0f);
  xn_.assign(c * H_, 0.0f);
  q_.assign(c * q_dim_, 0.0f);
  k_.assign(c * kv_dim_, 0.0f);
  v_.assign(c * kv_dim_, 0.0f);
  att_.assign(c * q_dim_, 0.0f);
  o_.assign(c * H_, 0.0f);
  gate_.assign(c * max_ffn_, 0.0f);
  up_.assign(c * max_ffn_, 0.0f);
  ffo_.assign(c * H_, 0.0f);
  if (cfg_.arch == ModelArch::Gemma3n) {
    const size_t N = cfg_.altup_inputs, P = cfg_.per_layer_dim;
    streams_.assign(N * c * H_, 0.0f);
    pred_.assign(N * c * H_, 0.0f);
    pli_.assign(c * cfg_.n_layers * P, 0.0f);
    lr_.assign(c * cfg_.laurel_rank, 0.0f);
    laurel_.assign(c * H_, 0.0f);
    h_.assign(c * H_, 0.0f);
    mod_.assign(c * N, 0.0f);
    coef_.assign(c * N * N, 0.0f);
    gatep_.assign(c * P, 0.0f);
    tmp_.assign(c * H_, 0.0f);
  }
}

void CpuModel::check_positions(int n, int pos) const {
  check_forward_request(info_, n, pos, n_cached_);
  // A ring keeps the last window - 1 + chunk positions: truncating further back than chunk tokens (except to 0)
  // would need keys it has overwritten.
  if (chunk_ > 0 && pos > 0 && n_cached_ - pos > chunk_)
    throw Error(str_cat("forward: cannot go back from ", n_cached_, " to ", pos, " cached tokens: sliding-window layers "
                        "keep only the last ", chunk_, " positions beyond their window (reset() and re-run instead)"));
}

template <typename LoadInputs>
void CpuModel::run_in_chunks(int n, int pos, float* logits, bool all_logits, const LoadInputs& load_inputs) {
  const int step = chunk_ > 0 ? chunk_ : n;
  for (int done = 0; done < n;) {
    const int m = std::min(step, n - done);
    n_cached_ = pos + done;  // truncates the cache when pos is smaller
    ensure_capacity(m);
    load_inputs(done, m);
    // Without all_logits only the final chunk's last row is wanted; earlier chunks write their last row to
    // logits too and are overwritten by the next ones.
    float* out = all_logits ? logits + static_cast<size_t>(done) * cfg_.vocab_size : logits;
    layers_and_head(m, pos + done, out, all_logits);
    done += m;
  }
}

void CpuModel::forward(std::span<const int32_t> tokens, int pos, float* logits, bool all_logits) {
  const int n = static_cast<int>(tokens.size());
  check_positions(n, pos);
  if (first_layer_ != 0) throw Error("forward: this CPU model is the tail of a hybrid model (use forward_hidden)");
  check_token_ids(info_, tokens);
  run_in_chunks(n, pos, logits, all_logits, [&](int done, int m) {
    const auto part = tokens.subspan(static_cast<size_t>(done), static_cast<size_t>(m));
    embed(part);
    if (cfg_.arch == ModelArch::Gemma3n) gemma3n_inputs(part);
  });
}

void CpuModel::forward_streams(const float* streams, const float* per_layer, int n, int pos, float* logits,
                               bool all_logits) {
  if (cfg_.arch != ModelArch::Gemma3n) throw Error("forward_streams: only Gemma 3n carries AltUp streams");
  check_positions(n, pos);
  const int64_t LP = int64_t{cfg_.n_layers} * cfg_.per_layer_dim;
  run_in_chunks(n, pos, logits, all_logits, [&](int done, int m) {
    for (int s = 0; s < cfg_.altup_inputs; ++s) {
      std::memcpy(stream(streams_, s), streams + (static_cast<size_t>(s) * n + done) * H_,
                  sizeof(float) * static_cast<size_t>(m) * H_);
    }
    std::memcpy(pli_.data(), per_layer + static_cast<size_t>(done) * LP, sizeof(float) * static_cast<size_t>(m * LP));
  });
}

void CpuModel::forward_hidden(const float* hidden, int n, int pos, float* logits, bool all_logits) {
  if (cfg_.arch == ModelArch::Gemma3n) throw Error("forward_hidden: Gemma 3n's state is its streams (forward_streams)");
  check_positions(n, pos);
  run_in_chunks(n, pos, logits, all_logits, [&](int done, int m) {
    std::memcpy(x_.data(), hidden + static_cast<size_t>(done) * H_, sizeof(float) * static_cast<size_t>(m) * H_);
  });
}

void CpuModel::layers_and_head(int n, int pos, float* logits, bool all_logits) {
  const int first = all_logits ? 0 : n - 1;
  const int rows = all_logits ? n : 1;
  if (cfg_.arch == ModelArch::Gemma3n) {
    for (int l = first_layer_; l < cfg_.n_layers; ++l) layer_gemma3n(l, n, pos);
    gemma3n_output(first, rows, xn_.data());
  } else {
    for (int l = first_layer_; l < cfg_.n_layers; ++l) layer_standard(l, n, pos);
    norm_rows(x_.data() + static_cast<size_t>(first) * H_, w_.final_norm, rows, H_, xn_.data());
  }
  matmul(w_.lm_head, xn_.data(), rows, logits);
  if (cfg_.final_softcap > 0) softcap(logits, int64_t{rows} * cfg_.vocab_size, static_cast<float>(cfg_.final_softcap));
  n_cached_ = pos + n;
}

void CpuModel::embed(std::span<const int32_t> tokens) {
  const uint64_t row_bytes = dtype_row_bytes(w_.embed.dtype, static_cast<uint64_t>(H_));
  const float scale = static_cast<float>(cfg_.embed_scale);
  for (size_t t = 0; t < tokens.size(); ++t) {
    float* dst = x_.data() + t * H_;
    quant::dequantize_row(w_.embed.dtype, w_.embed.data + row_bytes * static_cast<uint64_t>(tokens[t]), dst, H_);
    if (scale != 1.0f) ops::scale(dst, H_, scale);
  }
}

void CpuModel::layer_standard(int l, int n, int pos) {
  const LayerWeights& L = w_.layers[l];
  const bool gemma = cfg_.arch != ModelArch::Llama;
  const int64_t rows_h = int64_t{n} * H_;
  norm_rows(x_.data(), L.attn_norm, n, H_, xn_.data());
  attention(l, xn_.data(), n, pos, o_.data());
  if (gemma) norm_rows(o_.data(), L.post_attn_norm, n, H_, o_.data());
  ops::add(x_.data(), o_.data(), rows_h, x_.data());
  norm_rows(x_.data(), L.ffn_norm, n, H_, xn_.data());
  mlp(l, xn_.data(), n, ffo_.data());
  if (gemma) norm_rows(ffo_.data(), L.post_ffn_norm, n, H_, ffo_.data());
  ops::add(x_.data(), ffo_.data(), rows_h, x_.data());
}

void CpuModel::attention(int l, const float* in, int n, int pos, float* out) {
  const LayerWeights& L = w_.layers[l];
  const int hd = cfg_.head_dim, nh = cfg_.n_heads, nkv = cfg_.n_kv_heads;
  const bool sliding = cfg_.layer_sliding[l];
  const RopeTable& rope = sliding ? rope_local_ : rope_global_;
  const bool owns_kv = cfg_.kv_source[l] == l;
  const kernels::MatmulOutput qkv[] = {{L.wq, q_.data()}, {L.wk, k_.data()}, {L.wv, v_.data()}};
  kernels::matmul_multi(std::span(qkv, owns_kv ? 3 : 1), in, n, pool_.get());
  const float* qn = L.q_norm.empty() ? nullptr : L.q_norm.data();
  const float* kn = L.k_norm.empty() ? nullptr : L.k_norm.data();
  const bool v_norm = cfg_.arch == ModelArch::Gemma3n;  // RMSNorm without a weight
  for (int t = 0; t < n; ++t) {
    const int p = pos + t;
    for (int h = 0; h < nh; ++h) {
      float* qh = q_.data() + (static_cast<size_t>(t) * nh + h) * hd;
      if (qn) ops::rmsnorm(qh, qn, hd, eps_, cfg_.norm_adds_one, qh);
      apply_rope(qh, rope, p, cfg_.rope_interleaved);
    }
    if (!owns_kv) continue;
    for (int h = 0; h < nkv; ++h) {
      float* kh = k_.data() + (static_cast<size_t>(t) * nkv + h) * hd;
      if (kn) ops::rmsnorm(kh, kn, hd, eps_, cfg_.norm_adds_one, kh);
      apply_rope(kh, rope, p, cfg_.rope_interleaved);
      if (v_norm) {
        float* vh = v_.data() + (static_cast<size_t>(t) * nkv + h) * hd;
        ops::rmsnorm(vh, nullptr, hd, eps_, false, vh);
      }
    }
    KvCache& c = kv_[l];
    const size_t off = c.row(p) * kv_dim_;
    const float* ks = k_.data() + static_cast<size_t>(t) * kv_dim_;
    const float* vs = v_.data() + static_cast<size_t>(t) * kv_dim_;
    if (kv_f16_) {
      for (int64_t i = 0; i < kv_dim_; ++i) {
        c.k16[off + i] = f32_to_f16(ks[i]);
        c.v16[off + i] = f32_to_f16(vs[i]);
      }
    } else {
      std::memcpy(c.k.data() + off, ks, sizeof(float) * kv_dim_);
      std::memcpy(c.v.data() + off, vs, sizeof(float) * kv_dim_);
    }
  }
  const AttnJob job{l, n, pos};
  // Work items head-major (item i = head i / n, token i % n), so each thread's contiguous chunk holds whole heads
  // over all tokens: token-major chunks would give the last thread the longest causal contexts (3x the work of
  // the first at a 2-thread prefill).
  // Captures stay within std::function's 16-byte local buffer: no allocation per call.
  pool_->parallel_for(static_cast<size_t>(n) * nh, [this, &job](int thread, size_t begin, size_t end) {
    const size_t n_tokens = static_cast<size_t>(job.n), n_heads = static_cast<size_t>(cfg_.n_heads);
    for (size_t i = begin; i < end; ++i) attend_one(job, thread, (i % n_tokens) * n_heads + i / n_tokens);
  });
  matmul(L.wo, att_.data(), n, out);
}

void CpuModel::attend_one(const AttnJob& job, int thread, size_t index) {
  const int hd = cfg_.head_dim, nh = cfg_.n_heads;
  const int t = static_cast<int>(index / nh), h = static_cast<int>(index % nh);
  const int kvh = h / (nh / cfg_.n_kv_heads);
  const int p = job.pos + t;
  const int start = cfg_.layer_sliding[job.layer] ? std::max(0, p - cfg_.sliding_window + 1) : 0;
  const int len = p - start + 1;
  const KvCache& c = kv_[cfg_.kv_source[job.layer]];
  float* scores = scratch_.data() + scratch_stride_ * static_cast<size_t>(thread);
  float* row = scores + info_.ctx;
  float* acc = row + hd;
  const float* q = q_.data() + index * hd;
  const float scale = cfg_.query_scale > 0 ? static_cast<float>(cfg_.query_scale) : 1.0f / std::sqrt(static_cast<float>(hd));
  const float cap = static_cast<float>(cfg_.attn_softcap);
  auto kv_row = [&](const std::vector<float>& f32, const std::vector<uint16_t>& f16, int position) -> const float* {
    const size_t off = c.row(position) * kv_dim_ + static_cast<size_t>(kvh) * hd;
    if (!kv_f16_) return f32.data() + off;
    for (int i = 0; i < hd; ++i) row[i] = f16_to_f32(f16[off + i]);
    return row;
  };
  // Positions [start, p] as at most two runs of consecutive cache rows: a sliding ring wraps at most once.
  const int first_row = static_cast<int>(c.row(start));
  const int run1 = std::min(len, c.slots - first_row);
  auto head_at = [&](const std::vector<float>& f32, int cache_row) {
    return f32.data() + static_cast<size_t>(cache_row) * kv_dim_ + static_cast<size_t>(kvh) * hd;
  };
  if (kv_f16_) {
    for (int j = 0; j < len; ++j) scores[j] = ops::dot(q, kv_row(c.k, c.k16, start + j), hd);
  } else {  // same sums as dot per row, one dispatch per run
    ops::dot_rows(q, head_at(c.k, first_row), kv_dim_, run1, hd, scores);
    if (run1 < len) ops::dot_rows(q, head_at(c.k, 0), kv_dim_, len - run1, hd, scores + run1);
  }
  for (int j = 0; j < len; ++j) {
    float s = scores[j] * scale;
    if (cap > 0) s = std::tanh(s / cap) * cap;
    scores[j] = s;
  }
  ops::softmax(scores, len);
  std::fill(acc, acc + hd, 0.0f);
  if (kv_f16_) {
    for (int j = 0; j < len; ++j) ops::axpy(scores[j], kv_row(c.v, c.v16, start + j), hd, acc);
  } else {
    ops::axpy_rows(scores, head_at(c.v, first_row), kv_dim_, run1, hd, acc);
    if (run1 < len) ops::axpy_rows(scores + run1, head_at(c.v, 0), kv_dim_, len - run1, hd, acc);
  }
  std::memcpy(att_.data() + index * hd, acc, sizeof(float) * hd);
}

void CpuModel::mlp(int l, const float* in, int n, float* out) {
  const LayerWeights& L = w_.layers[l];
  const int64_t F = cfg_.ffn[l];
  const kernels::MatmulOutput gate_up[] = {{L.w_gate, gate_.data()}, {L.w_up, up_.data()}};
  kernels::matmul_multi(gate_up, in, n, pool_.get());
  const float mult = cfg_.sparsity_multiplier[l];
  if (std::isfinite(mult))
    for (int t = 0; t < n; ++t) gaussian_topk(gate_.data() + t * F, F, mult);
  if (cfg_.gelu_mlp) ops::geglu_tanh(gate_.data(), up_.data(), n * F, gate_.data());
  else ops::swiglu(gate_.data(), up_.data(), n * F, gate_.data());
  matmul(L.w_down, gate_.data(), n, out);
}

// ---- Gemma 3n ----

void CpuModel::gemma3n_inputs(std::span<const int32_t> tokens) {
  const int n = static_cast<int>(tokens.size());
  const int N = cfg_.altup_inputs;
  const int64_t P = cfg_.per_layer_dim, LP = int64_t{cfg_.n_layers} * P;
  const float* emb = x_.data();
  // Per-layer inputs: (normed projection of the embedding + per-layer token embedding) / sqrt(2).
  matmul(w_.per_layer_model_proj, emb, n, pli_.data());
  const float proj_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(H_)));
  const float tok_scale = static_cast<float>(std::sqrt(static_cast<double>(P)));
  const float combine = static_cast<float>(1.0 / std::sqrt(2.0));
  const uint64_t row_bytes = dtype_row_bytes(w_.per_layer_embed.dtype, static_cast<uint64_t>(LP));
  for (int t = 0; t < n; ++t) {
    float* pl = pli_.data() + t * LP;
    ops::scale(pl, LP, proj_scale);
    for (int l = 0; l < cfg_.n_layers; ++l)
      ops::rmsnorm(pl + l * P, w_.per_layer_proj_norm.data(), P, eps_, false, pl + l * P);
    // Ids past the per-layer table (multimodal soft tokens) read row 0, the padding row.
    const int tok = tokens[t] < cfg_.per_layer_vocab ? tokens[t] : 0;
    quant::dequantize_row(w_.per_layer_embed.dtype, w_.per_layer_embed.data + row_bytes * static_cast<uint64_t>(tok),
                          plrow_.data(), LP);
    ops::scale(plrow_.data(), LP, tok_scale);
    ops::add(pl, plrow_.data(), LP, pl);
    ops::scale(pl, LP, combine);
  }
  // AltUp streams: the embedding, plus N - 1 projections of it rescaled to its magnitude.
  std::memcpy(stream(streams_, 0), emb, sizeof(float) * n * H_);
  for (int s = 1; s < N; ++s) {
    float* dst = stream(streams_, s);
    matmul(w_.altup_proj[s - 1], emb, n, dst);
    for (int t = 0; t < n; ++t) {
      const float target = std::sqrt(mean_square(emb + t * H_, H_));
      const float mag = std::sqrt(std::max(mean_square(dst + t * H_, H_), 1e-5f));
      for (int64_t i = 0; i < H_; ++i) dst[t * H_ + i] = dst[t * H_ + i] * target / mag;
    }
  }
}

void CpuModel::altup_modalities(const LayerWeights& L, const float* x, float* mod) {
  const int N = cfg_.altup_inputs;
  float* tmp = router_tmp_.data();
  ops::rmsnorm(x, L.altup_router_norm.data(), H_, eps_, false, tmp);
  ops::scale(tmp, H_, static_cast<float>(1.0 / static_cast<double>(H_)));
  for (int i = 0; i < N; ++i) mod[i] = std::tanh(ops::dot(L.altup_router.data() + i * H_, tmp, H_));
}

void CpuModel::layer_gemma3n(int l, int n, int pos) {
  const LayerWeights& L = w_.layers[l];
  const int N = cfg_.altup_inputs, A = cfg_.altup_active;
  const int64_t P = cfg_.per_layer_dim, LP = int64_t{cfg_.n_layers} * P;
  const int64_t rows_h = int64_t{n} * H_;

  // AltUp predict: every stream becomes itself plus a token-dependent mix of all streams.
  for (int t = 0; t < n; ++t) {
    float* mod = mod_.data() + t * N;
    float* coef = coef_.data() + static_cast<size_t>(t) * N * N;
    altup_modalities(L, stream(streams_, A) + t * H_, mod);
    for (int k = 0; k < N * N; ++k) {
      float s = 0;
      for (int m = 0; m < N; ++m) s += L.altup_predict[k * N + m] * mod[m];
      coef[k] = s;
    }
    for (int j = 0; j < N; ++j) {
      float* pj = stream(pred_, j) + t * H_;
      std::fill(pj, pj + H_, 0.0f);
      for (int i = 0; i < N; ++i) ops::axpy(coef[j * N + i], stream(streams_, i) + t * H_, H_, pj);
      ops::add(pj, stream(streams_, j) + t * H_, H_, pj);
    }
  }
  const float* active = stream(pred_, A);

  // Attention and LAuReL on the active prediction.
  norm_rows(active, L.attn_norm, n, H_, xn_.data());
  matmul(L.laurel_left, xn_.data(), n, lr_.data());
  matmul(L.laurel_right, lr_.data(), n, laurel_.data());
  norm_rows(laurel_.data(), L.laurel_norm, n, H_, laurel_.data());
  ops::add(laurel_.data(), xn_.data(), rows_h, laurel_.data());
  attention(l, xn_.data(), n, pos, o_.data());
  norm_rows(o_.data(), L.post_attn_norm, n, H_, o_.data());
  ops::add(active, o_.data(), rows_h, h_.data());
  ops::add(h_.data(), laurel_.data(), rows_h, h_.data());
  const float inv_sqrt2 = static_cast<float>(1.0 / std::sqrt(2.0));
  ops::scale(h_.data(), rows_h, inv_sqrt2);
  norm_rows(h_.data(), L.ffn_norm, n, H_, xn_.data());
  mlp(l, xn_.data(), n, ffo_.data());
  norm_rows(ffo_.data(), L.post_ffn_norm, n, H_, ffo_.data());
  ops::add(h_.data(), ffo_.data(), rows_h, h_.data());  // the layer's output for the active stream

  // AltUp correct: spread the innovation of the active stream over all streams.
  for (int t = 0; t < n; ++t) {
    float* mod = mod_.data() + t * N;
    const float* act = h_.data() + t * H_;
    altup_modalities(L, act, mod);
    float* innov = tmp_.data() + t * H_;
    for (int64_t i = 0; i < H_; ++i) innov[i] = act[i] - active[t * H_ + i];
    for (int s = 0; s < N; ++s) {
      float c = 0;
      for (int m = 0; m < N; ++m) c += L.altup_correct[s * N + m] * mod[m];
      c += 1.0f;
      float* dst = stream(streams_, s) + t * H_;
      const float* ps = stream(pred_, s) + t * H_;
      for (int64_t i = 0; i < H_; ++i) dst[i] = innov[i] * c + ps[i];
    }
  }

  // Per-layer input: gate the corrected active stream with this layer's per-layer embedding, add to the others.
  const float* first = stream(streams_, A);
  if (cfg_.altup_correct_scale) {
    for (int t = 0; t < n; ++t) ops::mul(first + t * H_, L.altup_out_scale.data(), H_, tmp_.data() + t * H_);
  } else {
    std::memcpy(tmp_.data(), first, sizeof(float) * rows_h);
  }
  matmul(L.per_layer_gate, tmp_.data(), n, gatep_.data());
  ops::gelu_tanh(gatep_.data(), int64_t{n} * P, gatep_.data());
  for (int t = 0; t < n; ++t) ops::mul(gatep_.data() + t * P, pli_.data() + t * LP + l * P, P, gatep_.data() + t * P);
  matmul(L.per_layer_proj, gatep_.data(), n, o_.data());
  norm_rows(o_.data(), L.per_layer_post_norm, n, H_, o_.data());
  for (int s = 1; s < N; ++s) ops::add(stream(streams_, s), o_.data(), rows_h, stream(streams_, s));
}

void CpuModel::gemma3n_output(int first, int rows, float* out) {
  const int N = cfg_.altup_inputs;
  const size_t off = static_cast<size_t>(first) * H_;
  const int64_t rows_h = int64_t{rows} * H_;
  std::memcpy(out, stream(streams_, 0) + off, sizeof(float) * rows_h);
  for (int s = 1; s < N; ++s) {
    matmul(w_.altup_unembed[s - 1], stream(streams_, s) + off, rows, tmp_.data());
    for (int t = 0; t < rows; ++t) {
      const float target = std::sqrt(mean_square(stream(streams_, 0) + off + t * H_, H_));
      const float mag = std::sqrt(std::max(mean_square(tmp_.data() + t * H_, H_), 1e-5f));
      float* u = tmp_.data() + t * H_;
      for (int64_t i = 0; i < H_; ++i) u[i] = u[i] * target / mag;
    }
    ops::add(out, tmp_.data(), rows_h, out);
  }
  ops::scale(out, rows_h, 1.0f / static_cast<float>(N));
  norm_rows(out, w_.final_norm, rows, H_, out);
}

}  // namespace

std::unique_ptr<Model> make_cpu_model(std::unique_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts) {
  return std::make_unique<CpuModel>(std::shared_ptr<ModelSource>(std::move(src)), std::move(cfg), opts);
}

bool kv_sources_within(const ModelConfig& cfg, int first_layer) {
  for (int l = std::max(first_layer, 0); l < cfg.n_layers; ++l)
    if (cfg.kv_source[l] < first_layer) return false;
  return true;
}

std::unique_ptr<CpuLayerTail> make_cpu_layer_tail(std::shared_ptr<ModelSource> src, ModelConfig cfg,
                                                  const ModelOptions& opts, int first_layer) {
  return std::make_unique<CpuModel>(std::move(src), std::move(cfg), opts, first_layer);
}

}  // namespace unicorn
