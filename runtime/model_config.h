#pragma once
// The hyper-parameters of a decoder-only transformer, read from HF config.json text or GGUF metadata.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/metadata.h"
#include "runtime/model.h"

namespace unicorn {

enum class ModelArch { Llama, Gemma3, Gemma3n };
const char* model_arch_name(ModelArch a);

// How the inverse frequencies of one RoPE flavour are derived from the base.
struct RopeConfig {
  enum class Scaling { None, Linear, Llama3 };
  double theta = 10000.0;
  Scaling scaling = Scaling::None;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_positions = 8192.0;
};

// ModelConfig: plain value. Fields that a container leaves out get the defaults of the HF config class of the
// architecture; the loader may still fill head counts from tensor shapes (see infer_from_shapes flags).
struct ModelConfig {
  ModelArch arch = ModelArch::Llama;
  bool from_gguf = false;
  int vocab_size = 0;
  int hidden = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  std::vector<int> ffn;          // intermediate size per layer
  double norm_eps = 1e-5;
  int max_ctx = 0;
  bool tied_embeddings = false;
  int bos_id = -1;
  std::vector<int> eos_ids;

  RopeConfig rope_global;        // full-attention layers (all layers of Llama)
  RopeConfig rope_local;         // sliding-window layers
  bool rope_interleaved = false; // GGUF Llama: q/k rows were permuted so rope turns adjacent pairs
  int sliding_window = 0;
  std::vector<bool> layer_sliding;
  double query_scale = 0.0;      // multiplies q.k; 0 = 1/sqrt(head_dim)
  double attn_softcap = 0.0;     // 0 = none
  double final_softcap = 0.0;    // 0 = none
  // Gemma 3 (HF layout) stores RMSNorm weights as w and applies (1 + w); llama.cpp's GGUF stores 1 + w already.
  bool norm_adds_one = false;
  bool gelu_mlp = false;         // GELU-tanh gate (Gemma) instead of SiLU (Llama)
  double embed_scale = 1.0;

  // Gemma 3n.
  int altup_inputs = 0;
  int altup_active = 0;
  double altup_coef_clip = 0.0;  // 0 = no clipping
  bool altup_correct_scale = false;
  int laurel_rank = 0;
  int per_layer_dim = 0;
  int per_layer_vocab = 0;
  int n_kv_shared_layers = 0;
  // Gaussian top-k of the MLP gate per layer: keep gate - (mean + std * m); m = normal quantile of the target
  // sparsity, -inf for dense layers.
  std::vector<float> sparsity_multiplier;
  std::vector<int> kv_source;               // layer whose KV cache each layer reads (itself unless shared)

  std::string note;              // e.g. "vision tower ignored"

  // Fills kv_source from n_kv_shared_layers and layer_sliding; checks the numbers are sane (throws Error).
  void finish(const std::string& file);
};

// Parses config.json (text) of LlamaForCausalLM, Gemma3ForCausalLM, Gemma3nForCausalLM or the multimodal
// Gemma3ForConditionalGeneration / Gemma3nForConditionalGeneration (text_config). Throws Error naming file/field.
ModelConfig config_from_hf_json(const std::string& json_text, const std::string& file);
// Adds generation_config.json's eos_token_id (an integer or a list) to cfg.eos_ids, keeping the order and dropping
// duplicates; transformers stops on the union of both. Throws Error naming file and field for malformed JSON.
void add_generation_config_eos(ModelConfig& cfg, const std::string& json_text, const std::string& file);
// Reads llama.* / gemma3.* / gemma3n.* keys as llama.cpp writes them.
ModelConfig config_from_gguf(const Metadata& meta, const std::string& file);

// What every backend reports of the model: the config's shape and ids, the bound weights' bytes, the KV capacity.
ModelInfo describe_model(const ModelConfig& cfg, uint64_t weight_bytes, int ctx);

// The checks every backend's forward() makes before touching its cache: n > 0 tokens at pos <= n_cached, within
// the context; each id (when given) inside the vocabulary. Throws Error saying which.
void check_forward_request(const ModelInfo& info, int n, int pos, int n_cached);
void check_token_ids(const ModelInfo& info, std::span<const int32_t> tokens);

}  // namespace unicorn
