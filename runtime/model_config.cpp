#include "runtime/model_config.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace unicorn {

using nlohmann::json;

const char* model_arch_name(ModelArch a) {
  switch (a) {
    case ModelArch::Llama: return "llama";
    case ModelArch::Gemma3: return "gemma3";
    case ModelArch::Gemma3n: return "gemma3n";
  }
  return "?";
}

ModelInfo describe_model(const ModelConfig& cfg, uint64_t weight_bytes, int ctx) {
  ModelInfo info;
  info.arch = model_arch_name(cfg.arch);
  info.vocab_size = cfg.vocab_size;
  info.n_layers = cfg.n_layers;
  info.hidden = cfg.hidden;
  info.ctx = ctx;
  info.max_ctx = cfg.max_ctx;
  info.bos_id = cfg.bos_id;
  info.eos_ids = cfg.eos_ids;
  info.weight_bytes = weight_bytes;
  info.note = cfg.note;
  return info;
}

void check_forward_request(const ModelInfo& info, int n, int pos, int n_cached) {
  if (n <= 0) throw Error("forward: no tokens given");
  if (pos < 0 || pos > n_cached)
    throw Error(str_cat("forward: position ", pos, " is past the ", n_cached, " cached tokens"));
  if (static_cast<int64_t>(pos) + n > info.ctx)
    throw Error(str_cat("context full: ", pos, " cached + ", n, " new tokens exceed the context of ", info.ctx,
                        " tokens"));
}

void check_token_ids(const ModelInfo& info, std::span<const int32_t> tokens) {
  for (int32_t t : tokens)
    if (t < 0 || t >= info.vocab_size)
      throw Error(str_cat("token id ", t, " is out of range (vocabulary of ", info.vocab_size, ")"));
}

namespace {

[[noreturn]] void config_fail(const std::string& file, const std::string& field, const std::string& msg) {
  throw Error(msg, Error::Context{file, "", field});
}

// Reads an optional number; null counts as absent.
std::optional<double> opt_num(const json& j, const char* key, const std::string& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) config_fail(file, key, "expected a number");
  return it->get<double>();
}

int get_int(const json& j, const char* key, int def, const std::string& file) {
  auto v = opt_num(j, key, file);
  if (!v) return def;
  if (*v != std::floor(*v) || *v < -2147483648.0 || *v > 2147483647.0) config_fail(file, key, "expected an integer");
  return static_cast<int>(*v);
}

int require_int(const json& j, const char* key, const std::string& file) {
  auto v = opt_num(j, key, file);
  if (!v) config_fail(file, key, "missing in config");
  return get_int(j, key, 0, file);
}

double get_num(const json& j, const char* key, double def, const std::string& file) {
  auto v = opt_num(j, key, file);
  return v ? *v : def;
}

bool get_bool(const json& j, const char* key, bool def, const std::string& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_boolean()) config_fail(file, key, "expected true/false");
  return it->get<bool>();
}

std::vector<int> int_list(const json& j, const char* key, const std::string& file) {
  std::vector<int> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (it->is_number_integer()) {
    out.push_back(it->get<int>());
  } else if (it->is_array()) {
    for (const auto& e : *it) {
      if (!e.is_number_integer()) config_fail(file, key, "expected integers");
      out.push_back(e.get<int>());
    }
  } else {
    config_fail(file, key, "expected an integer or a list of integers");
  }
  return out;
}

// Applies one HF rope dict ({"rope_type"/"type", "rope_theta", "factor", ...}) to r.
void parse_rope_dict(const json& d, RopeConfig& r, const std::string& file, const std::string& field) {
  if (!d.is_object()) config_fail(file, field, "expected an object");
  if (auto t = opt_num(d, "rope_theta", file)) r.theta = *t;
  std::string type = "default";
  if (d.contains("rope_type") && d["rope_type"].is_string()) type = d["rope_type"].get<std::string>();
  else if (d.contains("type") && d["type"].is_string()) type = d["type"].get<std::string>();
  if (type == "default") {
    r.scaling = RopeConfig::Scaling::None;
  } else if (type == "linear") {
    r.scaling = RopeConfig::Scaling::Linear;
    r.factor = get_num(d, "factor", 1.0, file);
  } else if (type == "llama3") {
    r.scaling = RopeConfig::Scaling::Llama3;
    r.factor = get_num(d, "factor", 8.0, file);
    r.low_freq_factor = get_num(d, "low_freq_factor", 1.0, file);
    r.high_freq_factor = get_num(d, "high_freq_factor", 4.0, file);
    r.original_max_positions = get_num(d, "original_max_position_embeddings", 8192.0, file);
  } else {
    config_fail(file, field, str_cat("unsupported rope type '", type, "'"));
  }
}

// Standard-normal quantile (inverse CDF): Acklam's rational approximation refined by one Halley step.
double normal_icdf(double p) {
  if (p <= 0.0) return -INFINITY;
  if (p >= 1.0) return INFINITY;
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double plow = 0.02425;
  double x;
  if (p < plow) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - plow) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  for (int i = 0; i < 2; ++i) {  // Halley refinement to full double precision
    const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
    const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    x = x - u / (1 + x * u / 2);
  }
  return x;
}

}  // namespace

void ModelConfig::finish(const std::string& file) {
  auto bad = [&](const char* field, const std::string& msg) { config_fail(file, field, msg); };
  // GGUF files often leave the vocabulary size to the embedding's shape; the loader fills it in then.
  if (vocab_size < 0 || (vocab_size == 0 && !from_gguf)) bad("vocab_size", "must be positive");
  if (hidden <= 0) bad("hidden_size", "must be positive");
  if (n_layers <= 0 || n_layers > 100000) bad("num_hidden_layers", "out of range");
  if (n_heads <= 0) bad("num_attention_heads", "must be positive");
  if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0) bad("num_key_value_heads", "must divide num_attention_heads");
  if (head_dim <= 0 || head_dim % 2 != 0) bad("head_dim", "must be positive and even");
  if (ffn.size() == 1 && n_layers > 1) ffn.assign(n_layers, ffn[0]);
  if (static_cast<int>(ffn.size()) != n_layers) bad("intermediate_size", "needs one value per layer");
  for (int f : ffn)
    if (f <= 0) bad("intermediate_size", "must be positive");
  if (layer_sliding.empty()) layer_sliding.assign(n_layers, false);
  if (static_cast<int>(layer_sliding.size()) != n_layers) bad("layer_types", "needs one entry per layer");
  bool any_sliding = false;
  for (bool s : layer_sliding) any_sliding |= s;
  if (any_sliding && sliding_window <= 0) bad("sliding_window", "must be positive for sliding-window layers");
  if (max_ctx <= 0) max_ctx = 2048;
  if (!(norm_eps > 0)) norm_eps = 1e-6;
  if (arch == ModelArch::Gemma3n) {
    if (altup_inputs < 1) bad("altup_num_inputs", "must be at least 1");
    if (altup_active < 0 || altup_active >= altup_inputs) bad("altup_active_idx", "out of range");
    if (laurel_rank < 0 || (laurel_rank == 0 && !from_gguf)) bad("laurel_rank", "must be positive");  // GGUF: from shapes
    if (per_layer_dim <= 0) bad("hidden_size_per_layer_input", "must be positive");
    if (per_layer_vocab <= 0) per_layer_vocab = vocab_size;
    if (n_kv_shared_layers < 0 || n_kv_shared_layers >= n_layers) bad("num_kv_shared_layers", "out of range");
  }
  if (sparsity_multiplier.empty()) sparsity_multiplier.assign(n_layers, -INFINITY);
  if (static_cast<int>(sparsity_multiplier.size()) != n_layers)
    bad("activation_sparsity_pattern", "needs one value per layer");
  // KV sharing: a shared layer reads the cache of the last non-shared layer of the same attention type.
  kv_source.resize(n_layers);
  const int first_shared = n_layers - n_kv_shared_layers;
  for (int l = 0; l < n_layers; ++l) {
    kv_source[l] = l;
    if (n_kv_shared_layers > 0 && l >= first_shared) {
      int src = -1;
      for (int j = first_shared - 1; j >= 0; --j) {
        if (layer_sliding[j] == layer_sliding[l]) {
          src = j;
          break;
        }
      }
      if (src < 0) bad("num_kv_shared_layers", str_cat("layer ", l, " has no earlier layer of its type to share"));
      kv_source[l] = src;
    }
  }
}

ModelConfig config_from_hf_json(const std::string& json_text, const std::string& file) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const std::exception& e) {
    config_fail(file, "", str_cat("config.json is not valid JSON: ", e.what()));
  }
  if (!root.is_object()) config_fail(file, "", "config.json is not an object");

  std::string arch_name;
  if (root.contains("architectures") && root["architectures"].is_array() && !root["architectures"].empty() &&
      root["architectures"][0].is_string()) {
    arch_name = root["architectures"][0].get<std::string>();
  }
  std::string model_type = root.value("model_type", std::string());
  const json* cfg = &root;
  ModelConfig c;
  if (arch_name == "Gemma3ForConditionalGeneration" || arch_name == "Gemma3nForConditionalGeneration" ||
      model_type == "gemma3" || model_type == "gemma3n") {
    if (!root.contains("text_config") || !root["text_config"].is_object())
      config_fail(file, "text_config", "missing for a multimodal checkpoint");
    cfg = &root["text_config"];
    c.note = "multimodal checkpoint: only the text model is loaded (vision/audio towers ignored)";
    model_type = cfg->value("model_type", model_type == "gemma3n" || arch_name.rfind("Gemma3n", 0) == 0
                                              ? std::string("gemma3n_text") : std::string("gemma3_text"));
  }
  const json& j = *cfg;

  if (model_type == "llama" || arch_name == "LlamaForCausalLM") {
    c.arch = ModelArch::Llama;
  } else if (model_type == "gemma3_text" || arch_name == "Gemma3ForCausalLM") {
    c.arch = ModelArch::Gemma3;
  } else if (model_type == "gemma3n_text" || arch_name == "Gemma3nForCausalLM") {
    c.arch = ModelArch::Gemma3n;
  } else {
    config_fail(file, "architectures",
                str_cat("unsupported architecture '", arch_name.empty() ? model_type : arch_name,
                        "' (supported: LlamaForCausalLM, Gemma3ForCausalLM, Gemma3nForCausalLM and their "
                        "multimodal Gemma checkpoints)"));
  }
  const bool gemma = c.arch != ModelArch::Llama;
  const bool g3n = c.arch == ModelArch::Gemma3n;

  // Defaults follow the HF config classes, so partial text_configs of real checkpoints load.
  c.vocab_size = get_int(j, "vocab_size", g3n ? 262400 : gemma ? 262208 : 32000, file);
  c.hidden = gemma ? get_int(j, "hidden_size", g3n ? 2048 : 2304, file) : require_int(j, "hidden_size", file);
  c.n_layers = gemma ? get_int(j, "num_hidden_layers", g3n ? 35 : 26, file) : require_int(j, "num_hidden_layers", file);
  c.n_heads = get_int(j, "num_attention_heads", gemma ? 8 : 32, file);
  c.n_kv_heads = get_int(j, "num_key_value_heads", gemma ? (g3n ? 2 : 4) : c.n_heads, file);
  c.head_dim = get_int(j, "head_dim", gemma ? 256 : (c.n_heads > 0 ? c.hidden / c.n_heads : 0), file);
  c.ffn = int_list(j, "intermediate_size", file);
  if (c.ffn.empty()) c.ffn.push_back(gemma ? (g3n ? 16384 : 9216) : 11008);
  c.norm_eps = get_num(j, "rms_norm_eps", gemma ? 1e-6 : 1e-6, file);
  c.max_ctx = get_int(j, "max_position_embeddings", gemma ? (g3n ? 32768 : 131072) : 2048, file);
  c.tied_embeddings = get_bool(j, "tie_word_embeddings", gemma, file);
  if (!j.contains("tie_word_embeddings") && root.contains("tie_word_embeddings"))
    c.tied_embeddings = get_bool(root, "tie_word_embeddings", gemma, file);
  c.bos_id = get_int(j, "bos_token_id", get_int(root, "bos_token_id", gemma ? 2 : -1, file), file);
  c.eos_ids = int_list(j, "eos_token_id", file);
  if (c.eos_ids.empty()) c.eos_ids = int_list(root, "eos_token_id", file);

  // RoPE: transformers 5 writes rope_parameters (flat, or per layer type for Gemma); 4.x wrote rope_theta,
  // rope_scaling and (Gemma 3/3n) rope_local_base_freq.
  c.rope_global.theta = get_num(j, "rope_theta", gemma ? 1000000.0 : 10000.0, file);
  c.rope_local.theta = get_num(j, "rope_local_base_freq", 10000.0, file);
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) parse_rope_dict(j["rope_scaling"], c.rope_global, file, "rope_scaling");
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    const json& rp = j["rope_parameters"];
    if (rp.contains("full_attention") || rp.contains("sliding_attention")) {
      if (rp.contains("full_attention") && !rp["full_attention"].is_null())
        parse_rope_dict(rp["full_attention"], c.rope_global, file, "rope_parameters.full_attention");
      if (rp.contains("sliding_attention") && !rp["sliding_attention"].is_null())
        parse_rope_dict(rp["sliding_attention"], c.rope_local, file, "rope_parameters.sliding_attention");
    } else {
      parse_rope_dict(rp, c.rope_global, file, "rope_parameters");
    }
  }
  if (c.arch == ModelArch::Llama) c.rope_local = c.rope_global;

  if (gemma) {
    c.sliding_window = get_int(j, "sliding_window", g3n ? 512 : 4096, file);
    c.layer_sliding.assign(c.n_layers, false);
    if (j.contains("layer_types") && j["layer_types"].is_array()) {
      const json& lt = j["layer_types"];
      if (static_cast<int>(lt.size()) < c.n_layers) config_fail(file, "layer_types", "needs one entry per layer");
      for (int l = 0; l < c.n_layers; ++l) {
        const std::string t = lt[l].is_string() ? lt[l].get<std::string>() : "";
        if (t == "sliding_attention") c.layer_sliding[l] = true;
        else if (t != "full_attention") config_fail(file, "layer_types", str_cat("unknown layer type '", t, "'"));
      }
    } else {
      const int pattern = get_int(j, "sliding_window_pattern", get_int(j, "_sliding_window_pattern", g3n ? 5 : 6, file), file);
      for (int l = 0; l < c.n_layers; ++l) c.layer_sliding[l] = pattern <= 0 || (l + 1) % pattern != 0;
    }
    c.final_softcap = get_num(j, "final_logit_softcapping", g3n ? 30.0 : 0.0, file);
    c.attn_softcap = get_num(j, "attn_logit_softcapping", 0.0, file);
    c.gelu_mlp = true;
    c.embed_scale = std::sqrt(static_cast<double>(c.hidden));
    if (c.arch == ModelArch::Gemma3) {
      c.query_scale = 1.0 / std::sqrt(get_num(j, "query_pre_attn_scalar", 256.0, file));
      c.norm_adds_one = true;
    } else {
      c.query_scale = 1.0;  // q_norm already normalises the queries
      c.altup_inputs = get_int(j, "altup_num_inputs", 4, file);
      c.altup_active = get_int(j, "altup_active_idx", 0, file);
      c.altup_coef_clip = get_num(j, "altup_coef_clip", 0.0, file);
      c.altup_correct_scale = get_bool(j, "altup_correct_scale", true, file);
      c.laurel_rank = get_int(j, "laurel_rank", 64, file);
      c.per_layer_dim = get_int(j, "hidden_size_per_layer_input", 256, file);
      c.per_layer_vocab = get_int(j, "vocab_size_per_layer_input", 262144, file);
      c.n_kv_shared_layers = get_int(j, "num_kv_shared_layers", 0, file);
      if (j.contains("activation_sparsity_pattern") && j["activation_sparsity_pattern"].is_array()) {
        for (const auto& v : j["activation_sparsity_pattern"]) {
          if (!v.is_number()) config_fail(file, "activation_sparsity_pattern", "expected numbers");
          // HF evaluates the quantile in float32; the exact value rounded to float is the same number.
          const double p = v.get<double>();
          c.sparsity_multiplier.push_back(p > 0.0 ? static_cast<float>(normal_icdf(static_cast<float>(p))) : -INFINITY);
        }
      }
    }
    const std::string act = j.value("hidden_activation", std::string("gelu_pytorch_tanh"));
    if (act != "gelu_pytorch_tanh" && act != "gelu")
      config_fail(file, "hidden_activation", str_cat("unsupported activation '", act, "'"));
  } else {
    const std::string act = j.value("hidden_act", std::string("silu"));
    if (act != "silu") config_fail(file, "hidden_act", str_cat("unsupported activation '", act, "'"));
    if (get_bool(j, "attention_bias", false, file)) config_fail(file, "attention_bias", "attention biases are not supported");
    if (get_bool(j, "mlp_bias", false, file)) config_fail(file, "mlp_bias", "MLP biases are not supported");
  }
  c.finish(file);
  return c;
}

void add_generation_config_eos(ModelConfig& cfg, const std::string& json_text, const std::string& file) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const std::exception& e) {
    config_fail(file, "", str_cat("generation_config.json is not valid JSON: ", e.what()));
  }
  if (!root.is_object()) config_fail(file, "", "generation_config.json is not an object");
  for (int id : int_list(root, "eos_token_id", file)) {
    if (id < 0) config_fail(file, "eos_token_id", "token ids must not be negative");
    if (std::find(cfg.eos_ids.begin(), cfg.eos_ids.end(), id) == cfg.eos_ids.end()) cfg.eos_ids.push_back(id);
  }
}

namespace {

std::optional<int64_t> meta_int(const Metadata& m, const std::string& key, const std::string& file) {
  const MetaValue* v = m.find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type == MetaType::ARRAY) {
    const auto& a = v->as_array();
    if (a.items.empty()) config_fail(file, key, "empty array");
    return a.items[0].as_int();
  }
  if (!v->is_int()) config_fail(file, key, "expected an integer");
  return v->as_int();
}

int64_t meta_req_int(const Metadata& m, const std::string& key, const std::string& file) {
  auto v = meta_int(m, key, file);
  if (!v) config_fail(file, key, "missing in GGUF metadata");
  return *v;
}

std::optional<double> meta_num(const Metadata& m, const std::string& key, const std::string& file) {
  const MetaValue* v = m.find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) config_fail(file, key, "expected a number");
  return v->as_double();
}

int checked_int(int64_t v, const std::string& file, const std::string& key) {
  if (v < 0 || v > 1'000'000'000) config_fail(file, key, str_cat("value ", v, " out of range"));
  return static_cast<int>(v);
}

}  // namespace

ModelConfig config_from_gguf(const Metadata& m, const std::string& file) {
  const std::string arch = m.opt_string("general.architecture").value_or("");
  ModelConfig c;
  c.from_gguf = true;
  if (arch == "llama") c.arch = ModelArch::Llama;
  else if (arch == "gemma3") c.arch = ModelArch::Gemma3;
  else if (arch == "gemma3n") c.arch = ModelArch::Gemma3n;
  else
    config_fail(file, "general.architecture",
                str_cat("unsupported architecture '", arch, "' (supported: llama, gemma3, gemma3n)"));
  const std::string p = arch + ".";
  auto key_int = [&](const std::string& k) { return checked_int(meta_req_int(m, p + k, file), file, p + k); };
  auto opt_key_int = [&](const std::string& k, int def) {
    auto v = meta_int(m, p + k, file);
    return v ? checked_int(*v, file, p + k) : def;
  };
  const bool gemma = c.arch != ModelArch::Llama;
  const bool g3n = c.arch == ModelArch::Gemma3n;

  c.hidden = key_int("embedding_length");
  c.n_layers = key_int("block_count");
  c.n_heads = key_int("attention.head_count");
  c.n_kv_heads = opt_key_int("attention.head_count_kv", c.n_heads);
  c.head_dim = opt_key_int("attention.key_length", c.n_heads > 0 ? c.hidden / c.n_heads : 0);
  c.max_ctx = opt_key_int("context_length", 2048);
  // Filled from the embedding's rows by the loader when absent (the token list may be shorter than the table).
  c.vocab_size = opt_key_int("vocab_size", 0);
  if (const MetaValue* ff = m.find(p + "feed_forward_length")) {
    if (ff->type == MetaType::ARRAY) {
      for (const auto& e : ff->as_array().items) c.ffn.push_back(checked_int(e.as_int(), file, p + "feed_forward_length"));
    } else {
      c.ffn.push_back(checked_int(ff->as_int(), file, p + "feed_forward_length"));
    }
  } else {
    config_fail(file, p + "feed_forward_length", "missing in GGUF metadata");
  }
  c.norm_eps = meta_num(m, p + "attention.layer_norm_rms_epsilon", file).value_or(gemma ? 1e-6 : 1e-5);
  c.rope_global.theta = meta_num(m, p + "rope.freq_base", file).value_or(gemma ? 1000000.0 : 10000.0);
  c.rope_local.theta = meta_num(m, p + "rope.freq_base_swa", file).value_or(10000.0);
  const std::string scaling = m.opt_string(p + "rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    c.rope_global.scaling = RopeConfig::Scaling::Linear;
    c.rope_global.factor = meta_num(m, p + "rope.scaling.factor", file).value_or(1.0);
  } else if (scaling != "none" && !scaling.empty()) {
    config_fail(file, p + "rope.scaling.type", str_cat("unsupported rope scaling '", scaling, "'"));
  }
  if (auto rd = meta_int(m, p + "rope.dimension_count", file); rd && *rd != c.head_dim)
    config_fail(file, p + "rope.dimension_count", "partial rotary embeddings are not supported");
  if (auto b = meta_int(m, "tokenizer.ggml.bos_token_id", file)) c.bos_id = static_cast<int>(*b);
  for (const char* k : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    if (auto e = meta_int(m, k, file)) {
      bool dup = false;
      for (int x : c.eos_ids) dup |= x == *e;
      if (!dup) c.eos_ids.push_back(static_cast<int>(*e));
    }
  }

  if (c.arch == ModelArch::Llama) {
    c.rope_interleaved = true;  // convert_hf_to_gguf permutes q/k rows for llama.cpp's adjacent-pair rope
    c.rope_local = c.rope_global;
  } else {
    c.gelu_mlp = true;
    c.embed_scale = std::sqrt(static_cast<double>(c.hidden));
    c.final_softcap = meta_num(m, p + "final_logit_softcapping", file).value_or(0.0);
    c.attn_softcap = meta_num(m, p + "attn_logit_softcapping", file).value_or(0.0);
    c.sliding_window = opt_key_int("attention.sliding_window", 0);
    c.layer_sliding.assign(c.n_layers, false);
    const MetaValue* pat = m.find(p + "attention.sliding_window_pattern");
    if (pat != nullptr && pat->type == MetaType::ARRAY) {
      const auto& items = pat->as_array().items;
      if (static_cast<int>(items.size()) != c.n_layers)
        config_fail(file, p + "attention.sliding_window_pattern", "needs one entry per layer");
      for (int l = 0; l < c.n_layers; ++l) c.layer_sliding[l] = items[l].as_bool();
    } else {
      // llama.cpp's fixed Gemma 3 pattern: five sliding-window layers, then one global layer.
      const int n = pat != nullptr ? static_cast<int>(pat->as_int()) : (g3n ? 5 : 6);
      for (int l = 0; l < c.n_layers; ++l) c.layer_sliding[l] = c.sliding_window > 0 && (n <= 0 || (l + 1) % n != 0);
    }
    if (c.arch == ModelArch::Gemma3) {
      // Not stored in GGUF; llama.cpp derives it: 27B (62 layers) scales by hidden/heads, others by head_dim.
      const double scalar = c.n_layers == 62 ? static_cast<double>(c.hidden / c.n_heads) : c.head_dim;
      c.query_scale = meta_num(m, p + "attention.scale", file).value_or(1.0 / std::sqrt(scalar));
    } else {
      c.query_scale = 1.0;
      c.altup_inputs = opt_key_int("altup.num_inputs", 4);
      c.altup_active = opt_key_int("altup.active_idx", 0);
      c.altup_coef_clip = 0.0;  // the converter does not record it; clipping only matters for weights above it
      c.altup_correct_scale = true;
      c.per_layer_dim = key_int("embedding_length_per_layer_input");
      c.n_kv_shared_layers = opt_key_int("attention.shared_kv_layers", 0);
      if (const MetaValue* s = m.find(p + "activation_sparsity_scale"); s != nullptr && s->type == MetaType::ARRAY) {
        // GGUF stores the quantile itself (-inf for dense layers).
        for (const auto& e : s->as_array().items) {
          const double mult = e.as_double();
          c.sparsity_multiplier.push_back(std::isfinite(mult) ? static_cast<float>(mult) : -INFINITY);
        }
      }
    }
  }
  c.finish(file);
  return c;
}

}  // namespace unicorn
