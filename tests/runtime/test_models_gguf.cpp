// GGUF flavour of the models: the HF fixtures converted the way llama.cpp's convert_hf_to_gguf.py does (q/k row
// permutation for Llama, 1 + w Gemma 3 norms, stacked Gemma 3n AltUp projections, llama.cpp tensor names and keys)
// must give the same logits as transformers; plus config parsing details of both containers.
#include <catch2/catch.hpp>

#include <cmath>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "formats/gguf.h"
#include "formats/model_source.h"
#include "quant/quant.h"
#include "runtime/model.h"
#include "runtime/model_config.h"
#include "tests/test_util.h"

using unicorn::test::read_f32;
using unicorn::test::rel_l2;

namespace {

using json = nlohmann::json;
using unicorn::MetaType;
using unicorn::MetaValue;

// Standard-normal quantile by bisection on erfc (independent of the runtime's implementation).
double normal_quantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// HF tensor name -> llama.cpp's; empty for the AltUp projections (stacked separately).
std::string gguf_name(const std::string& hf, bool gemma) {
  static const std::vector<std::pair<std::string, std::string>> layer_map = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
      {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
      {"laurel.linear_left.weight", "laurel_l.weight"},
      {"laurel.linear_right.weight", "laurel_r.weight"},
      {"laurel.post_laurel_norm.weight", "laurel_post_norm.weight"},
      {"per_layer_input_gate.weight", "inp_gate.weight"},
      {"per_layer_projection.weight", "proj.weight"},
      {"post_per_layer_input_norm.weight", "post_norm.weight"},
      {"altup.correction_coefs.weight", "altup_correct_coef.weight"},
      {"altup.correct_output_scale", "altup_correct_scale.weight"},
      {"altup.prediction_coefs.weight", "altup_predict_coef.weight"},
      {"altup.modality_router.weight", "altup_router.weight"},
      {"altup.router_norm.weight", "altup_router_norm.weight"},
  };
  if (hf.rfind("model.layers.", 0) == 0) {
    const size_t dot = hf.find('.', 13);
    const std::string bid = hf.substr(13, dot - 13), rest = hf.substr(dot + 1);
    if (rest == "post_attention_layernorm.weight")
      return "blk." + bid + (gemma ? ".post_attention_norm.weight" : ".ffn_norm.weight");
    for (const auto& [from, to] : layer_map)
      if (rest == from) return "blk." + bid + "." + to;
    FAIL("no GGUF name for " << hf);
  }
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  if (hf == "model.embed_tokens_per_layer.weight") return "per_layer_token_embd.weight";
  if (hf == "model.per_layer_model_projection.weight") return "per_layer_model_proj.weight";
  if (hf == "model.per_layer_projection_norm.weight") return "per_layer_proj_norm.weight";
  if (hf.rfind("model.altup_", 0) == 0) return "";
  FAIL("no GGUF name for " << hf);
  return "";
}

// Reorders the rows of each head from HF's halves layout to llama.cpp's interleaved pairs.
std::vector<float> permute_rows(const std::vector<float>& w, int64_t n_heads, int64_t rows, int64_t cols) {
  const int64_t hd = rows / n_heads, half = hd / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t dst = h * hd + i * 2 + j, src = h * hd + j * half + i;
        std::copy(w.begin() + src * cols, w.begin() + (src + 1) * cols, out.begin() + dst * cols);
      }
  return out;
}

MetaValue u32(int64_t v) { return MetaValue::u32(static_cast<uint32_t>(v)); }
MetaValue f32(double v) { return MetaValue::f32(static_cast<float>(v)); }

// Converts an HF fixture directory to a GGUF file with F32 tensors, like convert_hf_to_gguf.py.
// matrix_type: the stored type of the 2-D weight matrices (norms and coefficient vectors stay F32).
// stored_as_f32: keep F32 storage but with the values matrix_type can represent (quantize, then dequantize).
void convert_fixture(const std::string& dir, const std::string& out_path,
                     unicorn::DType matrix_type = unicorn::DType::F32, bool stored_as_f32 = false) {
  auto src = unicorn::open_model_source(dir);
  const json c = json::parse(src->metadata().get_string("hf.config_json"));
  const std::string model_type = c["model_type"];
  const bool llama = model_type == "llama", g3n = model_type == "gemma3n_text";
  const std::string arch = llama ? "llama" : g3n ? "gemma3n" : "gemma3";
  const std::string a = arch + ".";
  const int n_layers = c["num_hidden_layers"], n_heads = c["num_attention_heads"], n_kv = c["num_key_value_heads"];
  const int head_dim = c["head_dim"];

  unicorn::GgufWriter w;
  w.set("general.architecture", MetaValue::str(arch));
  w.set(a + "context_length", u32(c["max_position_embeddings"]));
  w.set(a + "embedding_length", u32(c["hidden_size"]));
  w.set(a + "block_count", u32(n_layers));
  if (c["intermediate_size"].is_array()) {
    std::vector<MetaValue> ff;
    for (const auto& v : c["intermediate_size"]) ff.push_back(u32(v.get<int64_t>()));
    w.set(a + "feed_forward_length", MetaValue::array(MetaType::U32, ff));
  } else {
    w.set(a + "feed_forward_length", u32(c["intermediate_size"]));
  }
  w.set(a + "attention.head_count", u32(n_heads));
  w.set(a + "attention.head_count_kv", u32(n_kv));
  w.set(a + "attention.layer_norm_rms_epsilon", f32(c["rms_norm_eps"]));
  w.set(a + "attention.key_length", u32(head_dim));
  w.set(a + "attention.value_length", u32(head_dim));
  w.set("tokenizer.ggml.bos_token_id", u32(c["bos_token_id"]));
  w.set("tokenizer.ggml.eos_token_id", u32(c["eos_token_id"]));
  const json& rp = c["rope_parameters"];
  if (llama) {
    w.set(a + "rope.freq_base", f32(rp["rope_theta"]));
    w.set(a + "rope.dimension_count", u32(head_dim));
    w.set(a + "vocab_size", u32(c["vocab_size"]));
  } else {
    w.set(a + "rope.freq_base", f32(rp["full_attention"]["rope_theta"]));
    w.set(a + "rope.freq_base_swa", f32(rp["sliding_attention"]["rope_theta"]));
    w.set(a + "attention.sliding_window", u32(c["sliding_window"]));
    if (!c["final_logit_softcapping"].is_null()) w.set(a + "final_logit_softcapping", f32(c["final_logit_softcapping"]));
    // Gemma 3n's converter writes the per-layer pattern; for Gemma 3 llama.cpp assumes "every 6th is global",
    // which these fixtures do not follow, so the pattern is written explicitly here too.
    std::vector<MetaValue> pattern;
    for (const auto& t : c["layer_types"]) pattern.push_back(MetaValue::boolean(t == "sliding_attention"));
    w.set(a + "attention.sliding_window_pattern", MetaValue::array(MetaType::BOOL, pattern));
  }
  if (g3n) {
    w.set(a + "altup.active_idx", u32(c["altup_active_idx"]));
    w.set(a + "altup.num_inputs", u32(c["altup_num_inputs"]));
    w.set(a + "embedding_length_per_layer_input", u32(c["hidden_size_per_layer_input"]));
    w.set(a + "attention.shared_kv_layers", u32(c["num_kv_shared_layers"]));
    std::vector<MetaValue> scale;
    for (const auto& p : c["activation_sparsity_pattern"]) {
      const double v = p.get<double>();
      scale.push_back(f32(v > 0 ? normal_quantile(static_cast<float>(v)) : -INFINITY));
    }
    w.set(a + "activation_sparsity_scale", MetaValue::array(MetaType::F32, scale));
  }

  std::deque<std::vector<float>> keep;  // the writer reads tensor bytes at write()
  std::vector<float> altup[2];
  int64_t hidden = c["hidden_size"];
  for (const auto& t : src->tensors()) {
    std::vector<float> v(static_cast<size_t>(t.elements()));
    unicorn::quant::dequantize_row(t.dtype, t.data, v.data(), static_cast<int64_t>(v.size()));
    if (t.name.rfind("model.altup_projections.", 0) == 0 || t.name.rfind("model.altup_unembed_projections.", 0) == 0) {
      const bool unembed = t.name.find("unembed") != std::string::npos;
      // Stack in index order (tensors() may come in any order).
      const size_t idx = std::stoul(t.name.substr(t.name.rfind('.', t.name.size() - 8) + 1));
      auto& stack = altup[unembed ? 1 : 0];
      if (stack.size() < (idx + 1) * v.size()) stack.resize((idx + 1) * v.size());
      std::copy(v.begin(), v.end(), stack.begin() + idx * v.size());
      continue;
    }
    const std::string name = gguf_name(t.name, !llama);
    if (llama && t.name.find("self_attn.q_proj") != std::string::npos) v = permute_rows(v, n_heads, t.shape[0], t.shape[1]);
    if (llama && t.name.find("self_attn.k_proj") != std::string::npos) v = permute_rows(v, n_kv, t.shape[0], t.shape[1]);
    if (!llama && !g3n && t.name.size() >= 11 && t.name.compare(t.name.size() - 11, 11, "norm.weight") == 0)
      for (float& x : v) x += 1.0f;  // Gemma3RMSNorm's (1 + w), baked in by the converter
    // Matrices only (not AltUp's tiny coefficients), and only whole blocks, as llama-quantize would.
    const bool matrix = t.shape.size() == 2 && t.shape[0] > 16 && t.shape[1] > 16 &&
                        t.shape[1] % unicorn::dtype_traits(matrix_type).block_elems == 0;
    if (matrix_type != unicorn::DType::F32 && matrix) {
      const uint64_t nbytes = unicorn::dtype_bytes(matrix_type, v.size());
      std::vector<float> q((nbytes + 3) / 4);  // float storage keeps the bytes alive in `keep`
      unicorn::quant::quantize_row(matrix_type, v.data(), q.data(), static_cast<int64_t>(v.size()));
      if (stored_as_f32) {
        unicorn::quant::dequantize_row(matrix_type, q.data(), v.data(), static_cast<int64_t>(v.size()));
        keep.push_back(std::move(v));
        w.add_tensor(name, unicorn::DType::F32, t.shape, keep.back().data(), keep.back().size() * 4);
        continue;
      }
      keep.push_back(std::move(q));
      w.add_tensor(name, matrix_type, t.shape, keep.back().data(), nbytes);
      continue;
    }
    keep.push_back(std::move(v));
    w.add_tensor(name, unicorn::DType::F32, t.shape, keep.back().data(), keep.back().size() * 4);
  }
  if (llama && rp.value("rope_type", "default") == "llama3") {
    // llama.cpp keeps Llama 3 rope scaling as per-frequency divisors in rope_freqs.weight.
    const double base = rp["rope_theta"], factor = rp["factor"], low = rp["low_freq_factor"];
    const double high = rp["high_freq_factor"], old_ctx = rp["original_max_position_embeddings"];
    std::vector<float> factors;
    for (int i = 0; i < head_dim / 2; ++i) {
      const float freq = 1.0f / static_cast<float>(std::pow(base, static_cast<float>(2 * i) / head_dim));
      const double wavelen = 2 * M_PI / freq;
      if (wavelen < old_ctx / high) factors.push_back(1.0f);
      else if (wavelen > old_ctx / low) factors.push_back(static_cast<float>(factor));
      else {
        const double smooth = (old_ctx / wavelen - low) / (high - low);
        factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
      }
    }
    keep.push_back(std::move(factors));
    w.add_tensor("rope_freqs.weight", unicorn::DType::F32, {head_dim / 2}, keep.back().data(), keep.back().size() * 4);
  }
  if (g3n) {
    const int64_t n = static_cast<int64_t>(c["altup_num_inputs"]) - 1;
    w.add_tensor("altup_proj.weight", unicorn::DType::F32, {n, hidden, hidden}, altup[0].data(), altup[0].size() * 4);
    w.add_tensor("altup_unembd_proj.weight", unicorn::DType::F32, {n, hidden, hidden}, altup[1].data(), altup[1].size() * 4);
  }
  w.write(out_path);
}



}  // namespace

TEST_CASE("HF fixtures converted to GGUF give transformers' logits", "[runtime][gguf]") {
  const std::string tmp = unicorn::test::temp_dir("runtime-gguf");
  for (const char* name : {"llama-tiny", "llama-tiny-bf16", "gemma3-tiny", "gemma3n-tiny"}) {
    const std::string dir = unicorn::test::shared_path(std::string("fixtures/hf/") + name);
    if (dir.empty()) {
      WARN("SKIPPED: ../shared/fixtures/hf/" << name << " is absent");
      continue;
    }
    INFO(name);
    const std::string gguf = tmp + "/" + name + ".gguf";
    convert_fixture(dir, gguf);
    unicorn::ModelOptions opts;
    opts.threads = 2;
    auto model = unicorn::Model::load(gguf, opts);
    const json ref = json::parse(std::ifstream(dir + "/ref.json"));
    const auto prompt = ref["prompt_ids"].get<std::vector<int32_t>>();
    const int vocab = model->info().vocab_size;
    std::vector<float> got(prompt.size() * vocab);
    model->forward(prompt, 0, got.data(), true);
    const double err = rel_l2(got, read_f32(dir + "/logits.f32"));
    WARN(name << " (GGUF): relative L2 error = " << err);
    CHECK(err < 1e-3);
    CHECK(model->info().bos_id == ref["prompt_ids"][0].get<int>());
  }
  std::filesystem::remove_all(tmp);
}

// Quantized storage must compute what its dequantized values compute; what remains is the kernels' int8
// quantization of the activations for Q8_0/Q4_0 (F16 multiplies float activations, so it must match tightly).
TEST_CASE("quantized GGUF weights (F16, Q8_0, Q4_0) compute with their dequantized values", "[runtime][gguf]") {
  const std::string tmp = unicorn::test::temp_dir("runtime-gguf-quant");
  struct Case {
    unicorn::DType type;
    double max_err;
  };
  for (const char* name : {"llama-tiny", "gemma3-tiny", "gemma3n-tiny"}) {
    const std::string dir = unicorn::test::shared_path(std::string("fixtures/hf/") + name);
    if (dir.empty()) {
      WARN("SKIPPED: ../shared/fixtures/hf/" << name << " is absent");
      continue;
    }
    const std::vector<float> want = read_f32(dir + "/logits.f32");
    const json ref = json::parse(std::ifstream(dir + "/ref.json"));
    const auto prompt = ref["prompt_ids"].get<std::vector<int32_t>>();
    // Random-weight fixtures amplify the int8 activation rounding (Gemma 3 ~10x); a wrong layout would give ~1.
    for (const Case& c : {Case{unicorn::DType::F16, 1e-6}, Case{unicorn::DType::Q8_0, 0.15}, Case{unicorn::DType::Q4_0, 0.15}}) {
      INFO(name << " " << unicorn::dtype_name(c.type));
      const std::string base = tmp + "/" + name + "-" + unicorn::dtype_name(c.type);
      convert_fixture(dir, base + ".gguf", c.type);
      convert_fixture(dir, base + "-values.gguf", c.type, /*stored_as_f32=*/true);
      unicorn::ModelOptions opts;
      opts.threads = 2;
      std::vector<float> got(want.size()), values(want.size());
      unicorn::Model::load(base + ".gguf", opts)->forward(prompt, 0, got.data(), true);
      unicorn::Model::load(base + "-values.gguf", opts)->forward(prompt, 0, values.data(), true);
      const double err = rel_l2(got, values);
      WARN(name << " GGUF " << unicorn::dtype_name(c.type) << ": vs its dequantized values " << err
                << ", vs transformers " << rel_l2(got, want));
      CHECK(err < c.max_err);
      CHECK(rel_l2(got, want) > 0);  // the weights really were stored in the lossy type
    }
  }
  std::filesystem::remove_all(tmp);
}

TEST_CASE("Llama 3 rope scaling: HF rope_parameters and GGUF rope_freqs agree", "[runtime][gguf]") {
  const std::string dir = unicorn::test::shared_path("fixtures/hf/llama-tiny");
  if (dir.empty()) UNICORN_SKIP("../shared/fixtures/hf/llama-tiny is absent");
  const std::string tmp = unicorn::test::temp_dir("runtime-llama3-rope");
  // Same weights; original context 64 puts the head's 8 frequencies on both sides of both thresholds.
  json cfg = json::parse(std::ifstream(dir + "/config.json"));
  cfg["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 10000.0}, {"factor", 8.0},
                            {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                            {"original_max_position_embeddings", 64}};
  const std::string hf = tmp + "/hf";
  std::filesystem::create_directories(hf);
  std::filesystem::copy_file(dir + "/model.safetensors", hf + "/model.safetensors");
  std::ofstream(hf + "/config.json") << cfg.dump();
  convert_fixture(hf, tmp + "/llama3.gguf");

  unicorn::ModelOptions opts;
  opts.threads = 2;
  auto from_hf = unicorn::Model::load(hf, opts);
  auto from_gguf = unicorn::Model::load(tmp + "/llama3.gguf", opts);
  const json ref = json::parse(std::ifstream(dir + "/ref.json"));
  std::vector<int32_t> toks = ref["prompt_ids"].get<std::vector<int32_t>>();
  for (int i = 0; i < 40; ++i) toks.push_back((i * 7 + 3) % from_hf->info().vocab_size);  // reach far positions
  const size_t vocab = from_hf->info().vocab_size;
  std::vector<float> a(toks.size() * vocab), b(a.size());
  from_hf->forward(toks, 0, a.data(), true);
  from_gguf->forward(toks, 0, b.data(), true);
  CHECK(rel_l2(b, a) < 1e-5);
  // The scaling matters: the unscaled model gives different logits for the same tokens.
  auto plain = unicorn::Model::load(dir, opts);
  std::vector<float> c(a.size());
  plain->forward(toks, 0, c.data(), true);
  CHECK(rel_l2(c, a) > 1e-3);
  std::filesystem::remove_all(tmp);
}

TEST_CASE("tiny-synth-llama.gguf (F16 weights, llama.cpp-readable) loads and decodes consistently", "[runtime][gguf]") {
  const std::string path = unicorn::test::shared_path("models/tiny-synth-llama.gguf");
  if (path.empty()) UNICORN_SKIP("../shared/models/tiny-synth-llama.gguf is absent");
  unicorn::ModelOptions opts;
  opts.threads = 2;
  auto model = unicorn::Model::load(path, opts);
  const auto& info = model->info();
  CHECK(info.arch == "llama");
  CHECK(info.n_layers == 2);
  CHECK(info.hidden == 128);
  CHECK(info.vocab_size == 4096);
  CHECK(info.bos_id == 1);
  const std::vector<int32_t> toks = {1, 300, 301, 302, 303, 304, 305, 306};
  const int n = static_cast<int>(toks.size()), vocab = info.vocab_size;
  std::vector<float> batch(static_cast<size_t>(n) * vocab), step(batch.size());
  model->forward(toks, 0, batch.data(), true);
  for (float v : batch) REQUIRE(std::isfinite(v));
  model->reset();
  for (int i = 0; i < n; ++i) model->forward(std::span<const int32_t>(&toks[i], 1), i, step.data() + i * vocab, false);
  CHECK(rel_l2(step, batch) < 1e-5);
}

TEST_CASE("config parsing: GGUF defaults, HF variants and refusals", "[runtime][config]") {
  using unicorn::ModelArch;
  SECTION("Gemma 3 GGUF without a pattern uses llama.cpp's 5 local + 1 global") {
    unicorn::Metadata m;
    m.set("general.architecture", MetaValue::str("gemma3"));
    m.set("gemma3.embedding_length", u32(64));
    m.set("gemma3.block_count", u32(12));
    m.set("gemma3.feed_forward_length", u32(128));
    m.set("gemma3.attention.head_count", u32(4));
    m.set("gemma3.attention.head_count_kv", u32(1));
    m.set("gemma3.attention.key_length", u32(16));
    m.set("gemma3.attention.sliding_window", u32(32));
    m.set("gemma3.vocab_size", u32(100));
    const auto c = unicorn::config_from_gguf(m, "x.gguf");
    CHECK(c.arch == ModelArch::Gemma3);
    for (int l = 0; l < 12; ++l) CHECK(c.layer_sliding[l] == (l % 6 != 5));
    CHECK(c.rope_local.theta == 10000.0);
    CHECK(c.rope_global.theta == 1000000.0);
    CHECK(c.query_scale == Approx(0.25));
    CHECK_FALSE(c.norm_adds_one);
    CHECK_FALSE(c.rope_interleaved);
  }
  SECTION("GGUF of an unknown architecture is refused by name") {
    unicorn::Metadata m;
    m.set("general.architecture", MetaValue::str("mamba"));
    CHECK_THROWS_WITH(unicorn::config_from_gguf(m, "x.gguf"), Catch::Contains("unsupported architecture 'mamba'"));
  }
  SECTION("transformers 4.x Llama config with llama3 rope scaling") {
    const auto c = unicorn::config_from_hf_json(R"({
      "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
      "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 100,
      "rope_theta": 500000.0, "max_position_embeddings": 131072, "head_dim": 32,
      "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 8192}, "eos_token_id": [5, 6, 7]})", "config.json");
    CHECK(c.rope_global.theta == 500000.0);
    CHECK(c.rope_global.scaling == unicorn::RopeConfig::Scaling::Llama3);
    CHECK(c.rope_global.factor == 32.0);
    CHECK(c.head_dim == 32);
    CHECK(c.eos_ids == std::vector<int>{5, 6, 7});
    CHECK_FALSE(c.tied_embeddings);
  }
  SECTION("multimodal Gemma 3n: text_config and defaults") {
    const auto c = unicorn::config_from_hf_json(R"({
      "architectures": ["Gemma3nForConditionalGeneration"], "model_type": "gemma3n",
      "text_config": {"model_type": "gemma3n_text", "hidden_size": 64, "num_hidden_layers": 10,
                      "intermediate_size": 128, "num_attention_heads": 2, "num_key_value_heads": 1,
                      "head_dim": 32, "vocab_size": 300, "vocab_size_per_layer_input": 256,
                      "hidden_size_per_layer_input": 8, "laurel_rank": 4, "num_kv_shared_layers": 4,
                      "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window": 16,
                      "activation_sparsity_pattern": [0.95, 0.95, 0, 0, 0, 0, 0, 0, 0, 0]},
      "vision_config": {}, "audio_config": {}})", "config.json");
    CHECK(c.arch == ModelArch::Gemma3n);
    CHECK(!c.note.empty());
    CHECK(c.altup_inputs == 4);
    CHECK(c.final_softcap == 30.0);
    // Default layer types: every 5th global. Shared layers 6..9 read the last non-shared layer of their type.
    CHECK(c.layer_sliding == std::vector<bool>{true, true, true, true, false, true, true, true, true, false});
    CHECK(c.kv_source == std::vector<int>{0, 1, 2, 3, 4, 5, 5, 5, 5, 4});
    CHECK(c.sparsity_multiplier[0] == Approx(1.6448536).epsilon(1e-6));
    CHECK(std::isinf(c.sparsity_multiplier[2]));
  }
  SECTION("unsupported activation and rope types are refused with the field") {
    CHECK_THROWS_WITH(unicorn::config_from_hf_json(R"({"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 1,
                                                     "hidden_act": "relu"})", "config.json"),
                      Catch::Contains("hidden_act"));
    CHECK_THROWS_WITH(unicorn::config_from_hf_json(R"({"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 1,
                                                     "rope_scaling": {"rope_type": "yarn", "factor": 4}})", "config.json"),
                      Catch::Contains("yarn"));
    CHECK_THROWS_WITH(unicorn::config_from_hf_json("{not json", "config.json"), Catch::Contains("not valid JSON"));
  }
}
