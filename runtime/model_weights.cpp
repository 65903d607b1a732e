#include "runtime/model_weights.h"

#include <algorithm>
#include <set>

#include "base/error.h"
#include "kernels/matmul.h"
#include "quant/quant.h"

namespace unicorn {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += str_cat(i ? ", " : "", s[i]);
  return out + "]";
}

// Looks tensors up by name and checks them; remembers which bytes were bound.
class Binder {
 public:
  explicit Binder(const ModelSource& src) : src_(src) {}

  const TensorView* find(const std::string& name) const { return src_.find(name); }

  kernels::WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) {
    const TensorView& t = src_.require(name);
    check_shape(t, {rows, cols});
    return weight_matrix(t);
  }

  // The n matrices [rows, cols] of a stacked [n, rows, cols] tensor.
  std::vector<kernels::WeightMatrix> stacked(const std::string& name, int64_t n, int64_t rows, int64_t cols) {
    const TensorView& t = src_.require(name);
    check_shape(t, {n, rows, cols});
    const kernels::WeightMatrix all = weight_matrix(t);  // [n * rows, cols]
    std::vector<kernels::WeightMatrix> out;
    const uint64_t bytes = dtype_row_bytes(t.dtype, static_cast<uint64_t>(cols)) * static_cast<uint64_t>(rows);
    for (int64_t i = 0; i < n; ++i) out.push_back({all.dtype, all.data + bytes * static_cast<uint64_t>(i), rows, cols});
    return out;
  }

  kernels::WeightMatrix weight_matrix(const TensorView& t) {
    if (!kernels::matmul_supports(t.dtype))
      throw Error(str_cat("tensor type ", dtype_name(t.dtype), " is not supported for matrix products"),
                  Error::Context{src_.path(), t.name, ""});
    try {
      kernels::WeightMatrix m = kernels::as_weight_matrix(t);  // checks byte size against shape and type
      count(t);
      return m;
    } catch (const Error& e) {
      throw e.with_file(src_.path());
    }
  }

  std::vector<float> floats(const std::string& name, const std::vector<int64_t>& shape) {
    const TensorView& t = src_.require(name);
    check_shape(t, shape);
    return to_floats(t);
  }

  std::vector<float> to_floats(const TensorView& t) {
    if (!quant::is_supported(t.dtype))
      throw Error(str_cat("tensor type ", dtype_name(t.dtype), " is not supported"),
                  Error::Context{src_.path(), t.name, ""});
    std::vector<float> v(static_cast<size_t>(t.elements()));
    if (dtype_bytes(t.dtype, v.size()) != t.nbytes)
      throw Error("byte size does not match shape and type", Error::Context{src_.path(), t.name, ""});
    quant::dequantize_row(t.dtype, t.data, v.data(), static_cast<int64_t>(v.size()));
    count(t);
    return v;
  }

  void check_shape(const TensorView& t, const std::vector<int64_t>& want) const {
    if (t.shape != want)
      throw Error(str_cat("expected shape ", shape_str(want), ", found ", shape_str(t.shape)),
                  Error::Context{src_.path(), t.name, ""});
  }

  void count(const TensorView& t) {
    if (seen_.insert(t.data).second) bytes_ += t.nbytes;
  }

  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return src_.path(); }

 private:
  const ModelSource& src_;
  std::set<const uint8_t*> seen_;
  uint64_t bytes_ = 0;
};

// Tensor names of one container flavour.
struct Names {
  bool gguf = false;
  std::string prefix;  // HF: "model." or the language model's prefix in multimodal checkpoints

  std::string embed() const { return gguf ? "token_embd.weight" : prefix + "embed_tokens.weight"; }
  std::string final_norm() const { return gguf ? "output_norm.weight" : prefix + "norm.weight"; }
  std::string layer(int l, const char* hf, const char* gg) const {
    return gguf ? str_cat("blk.", l, ".", gg, ".weight") : str_cat(prefix, "layers.", l, ".", hf);
  }
};

}  // namespace

ModelWeights bind_weights(const ModelSource& src, ModelConfig& cfg) {
  Binder b(src);
  Names nm;
  nm.gguf = cfg.from_gguf;
  if (!nm.gguf) {
    // Text-only checkpoints use "model."; multimodal ones nest the language model (two historical layouts).
    for (const char* p : {"model.", "model.language_model.", "language_model.model."}) {
      if (src.find(std::string(p) + "embed_tokens.weight") != nullptr) {
        nm.prefix = p;
        break;
      }
    }
    if (nm.prefix.empty()) nm.prefix = "model.";
  }
  ModelWeights w;
  const int64_t H = cfg.hidden, hd = cfg.head_dim;
  const int64_t q_dim = int64_t{cfg.n_heads} * hd, kv_dim = int64_t{cfg.n_kv_heads} * hd;

  // The embedding fixes the vocabulary when the metadata did not (GGUF without vocab_size).
  {
    const TensorView& e = src.require(nm.embed());
    if (cfg.vocab_size <= 0 && e.shape.size() == 2) cfg.vocab_size = static_cast<int>(e.shape[0]);
    w.embed = b.matrix(nm.embed(), cfg.vocab_size, H);
  }
  w.final_norm = b.floats(nm.final_norm(), {H});
  if (nm.gguf) {
    if (b.find("output.weight") != nullptr) w.lm_head = b.matrix("output.weight", cfg.vocab_size, H);
    else w.lm_head = w.embed;
    if (const TensorView* rf = b.find("rope_freqs.weight")) {
      b.check_shape(*rf, {hd / 2});
      w.rope_freq_factors = b.to_floats(*rf);
    }
  } else if (cfg.tied_embeddings) {
    w.lm_head = w.embed;
  } else {
    std::string head = "lm_head.weight";
    if (b.find(head) == nullptr && b.find("language_model.lm_head.weight") != nullptr) head = "language_model.lm_head.weight";
    w.lm_head = b.matrix(head, cfg.vocab_size, H);
  }

  const bool gemma = cfg.arch != ModelArch::Llama;
  const bool g3n = cfg.arch == ModelArch::Gemma3n;
  const int64_t N = cfg.altup_inputs, P = cfg.per_layer_dim;
  if (g3n && cfg.laurel_rank == 0) {
    // GGUF does not record the LAuReL rank; the first layer's left matrix gives it.
    const TensorView& t = src.require(nm.layer(0, "laurel.linear_left.weight", "laurel_l"));
    if (t.shape.size() == 2 && t.shape[0] > 0 && t.shape[0] < (int64_t{1} << 20)) cfg.laurel_rank = static_cast<int>(t.shape[0]);
  }
  w.layers.resize(cfg.n_layers);
  for (int l = 0; l < cfg.n_layers; ++l) {
    LayerWeights& L = w.layers[l];
    const int64_t F = cfg.ffn[l];
    L.wq = b.matrix(nm.layer(l, "self_attn.q_proj.weight", "attn_q"), q_dim, H);
    L.wo = b.matrix(nm.layer(l, "self_attn.o_proj.weight", "attn_output"), H, q_dim);
    if (cfg.kv_source[l] == l) {
      L.wk = b.matrix(nm.layer(l, "self_attn.k_proj.weight", "attn_k"), kv_dim, H);
      L.wv = b.matrix(nm.layer(l, "self_attn.v_proj.weight", "attn_v"), kv_dim, H);
    }
    L.w_gate = b.matrix(nm.layer(l, "mlp.gate_proj.weight", "ffn_gate"), F, H);
    L.w_up = b.matrix(nm.layer(l, "mlp.up_proj.weight", "ffn_up"), F, H);
    L.w_down = b.matrix(nm.layer(l, "mlp.down_proj.weight", "ffn_down"), H, F);
    L.attn_norm = b.floats(nm.layer(l, "input_layernorm.weight", "attn_norm"), {H});
    if (!gemma) {
      L.ffn_norm = b.floats(nm.layer(l, "post_attention_layernorm.weight", "ffn_norm"), {H});
      continue;
    }
    L.post_attn_norm = b.floats(nm.layer(l, "post_attention_layernorm.weight", "post_attention_norm"), {H});
    L.ffn_norm = b.floats(nm.layer(l, "pre_feedforward_layernorm.weight", "ffn_norm"), {H});
    L.post_ffn_norm = b.floats(nm.layer(l, "post_feedforward_layernorm.weight", "post_ffw_norm"), {H});
    L.q_norm = b.floats(nm.layer(l, "self_attn.q_norm.weight", "attn_q_norm"), {hd});
    if (cfg.kv_source[l] == l) L.k_norm = b.floats(nm.layer(l, "self_attn.k_norm.weight", "attn_k_norm"), {hd});
    if (!g3n) continue;
    L.laurel_left = b.matrix(nm.layer(l, "laurel.linear_left.weight", "laurel_l"), cfg.laurel_rank, H);
    L.laurel_right = b.matrix(nm.layer(l, "laurel.linear_right.weight", "laurel_r"), H, cfg.laurel_rank);
    L.laurel_norm = b.floats(nm.layer(l, "laurel.post_laurel_norm.weight", "laurel_post_norm"), {H});
    L.per_layer_gate = b.matrix(nm.layer(l, "per_layer_input_gate.weight", "inp_gate"), P, H);
    L.per_layer_proj = b.matrix(nm.layer(l, "per_layer_projection.weight", "proj"), H, P);
    L.per_layer_post_norm = b.floats(nm.layer(l, "post_per_layer_input_norm.weight", "post_norm"), {H});
    L.altup_router_norm = b.floats(nm.layer(l, "altup.router_norm.weight", "altup_router_norm"), {H});
    L.altup_router = b.floats(nm.layer(l, "altup.modality_router.weight", "altup_router"), {N, H});
    L.altup_predict = b.floats(nm.layer(l, "altup.prediction_coefs.weight", "altup_predict_coef"), {N * N, N});
    L.altup_correct = b.floats(nm.layer(l, "altup.correction_coefs.weight", "altup_correct_coef"), {N, N});
    L.altup_out_scale = b.floats(nm.layer(l, "altup.correct_output_scale", "altup_correct_scale"), {H});
    if (cfg.altup_coef_clip > 0) {
      // HF clamps the correction coefficients in place on every call (the prediction ones only in training).
      const float c = static_cast<float>(cfg.altup_coef_clip);
      for (float& v : L.altup_correct) v = std::clamp(v, -c, c);
    }
  }

  if (g3n) {
    const int64_t LP = int64_t{cfg.n_layers} * P;
    const std::string pe = nm.gguf ? "per_layer_token_embd.weight" : nm.prefix + "embed_tokens_per_layer.weight";
    {
      const TensorView& t = src.require(pe);
      // The GGUF converter pads this table with zero rows up to the full vocabulary.
      if (t.shape.size() == 2 && t.shape[0] >= cfg.per_layer_vocab && nm.gguf) cfg.per_layer_vocab = static_cast<int>(t.shape[0]);
    }
    w.per_layer_embed = b.matrix(pe, cfg.per_layer_vocab, LP);
    w.per_layer_model_proj = b.matrix(nm.gguf ? "per_layer_model_proj.weight" : nm.prefix + "per_layer_model_projection.weight", LP, H);
    w.per_layer_proj_norm = b.floats(nm.gguf ? "per_layer_proj_norm.weight" : nm.prefix + "per_layer_projection_norm.weight", {P});
    if (nm.gguf) {
      // The converter stacks the N - 1 projections into one [N - 1, hidden, hidden] tensor.
      for (const auto& [name, out] : {std::pair{"altup_proj.weight", &w.altup_proj},
                                      std::pair{"altup_unembd_proj.weight", &w.altup_unembed}}) {
        *out = b.stacked(name, N - 1, H, H);
      }
    } else {
      for (int64_t i = 0; i + 1 < N; ++i) {
        w.altup_proj.push_back(b.matrix(str_cat(nm.prefix, "altup_projections.", i, ".weight"), H, H));
        w.altup_unembed.push_back(b.matrix(str_cat(nm.prefix, "altup_unembed_projections.", i, ".weight"), H, H));
      }
    }
  }
  w.bytes = b.bytes();
  return w;
}

}  // namespace unicorn
