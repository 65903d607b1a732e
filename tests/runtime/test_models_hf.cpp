// Checks the CPU forward pass against HuggingFace transformers' logits and greedy generations.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "formats/model_source.h"
#include "runtime/model.h"
#include "tests/test_util.h"

using unicorn::test::read_f32;
using unicorn::test::rel_l2;

namespace {

using unicorn::Model;
using unicorn::ModelOptions;
using json = nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream f(path);
  REQUIRE(f.good());
  return json::parse(f);
}



int argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

std::vector<int32_t> ids(const json& j) { return j.get<std::vector<int32_t>>(); }

// Prefills the prompt, then decodes greedily one token at a time through forward().
std::vector<int32_t> greedy(Model& m, const std::vector<int32_t>& prompt, int count) {
  const int vocab = m.info().vocab_size;
  std::vector<float> logits(vocab);
  m.reset();
  m.forward(prompt, 0, logits.data(), false);
  std::vector<int32_t> out;
  int pos = static_cast<int>(prompt.size());
  for (int i = 0; i < count; ++i) {
    const int32_t next = argmax(logits.data(), vocab);
    out.push_back(next);
    if (i + 1 == count) break;
    m.forward(std::span<const int32_t>(&next, 1), pos++, logits.data(), false);
  }
  return out;
}

ModelOptions test_options() {
  ModelOptions o;
  o.threads = 2;
  return o;
}

void check_fixture(const std::string& name) {
  const std::string dir = unicorn::test::shared_path("fixtures/hf/" + name);
  if (dir.empty()) {
    WARN("SKIPPED: ../shared/fixtures/hf/" << name << " is absent");
    return;
  }
  const json ref = read_json(dir + "/ref.json");
  const std::vector<float> want = read_f32(dir + "/logits.f32");
  auto model = Model::load(dir, test_options());
  const auto prompt = ids(ref["prompt_ids"]);
  const int vocab = model->info().vocab_size;
  REQUIRE(ref["logits_shape"][0].get<size_t>() == prompt.size());
  REQUIRE(ref["logits_shape"][1].get<int>() == vocab);

  std::vector<float> got(prompt.size() * vocab);
  model->forward(prompt, 0, got.data(), true);
  const double err = rel_l2(got, want);
  WARN(name << ": relative L2 error of all prompt logits = " << err);
  CHECK(err < 1e-3);

  const auto expect = ids(ref["greedy_ids"]);
  const auto decoded = greedy(*model, prompt, static_cast<int>(expect.size()));
  CHECK(decoded == expect);
}

}  // namespace

TEST_CASE("llama-tiny matches HF logits and greedy decode", "[runtime][hf]") { check_fixture("llama-tiny"); }
TEST_CASE("llama-tiny-bf16 matches HF logits and greedy decode", "[runtime][hf]") { check_fixture("llama-tiny-bf16"); }
TEST_CASE("gemma3-tiny matches HF logits and greedy decode", "[runtime][hf]") { check_fixture("gemma3-tiny"); }
TEST_CASE("gemma3n-tiny matches HF logits and greedy decode", "[runtime][hf]") { check_fixture("gemma3n-tiny"); }

TEST_CASE("shakespeare models reproduce HF greedy generations", "[runtime][hf]") {
  for (const char* name : {"shakespeare-llama", "shakespeare-gemma3"}) {
    const std::string dir = unicorn::test::shared_path(std::string("models/") + name);
    if (dir.empty()) {
      WARN("SKIPPED: ../shared/models/" << name << " is absent");
      continue;
    }
    const json ref = read_json(dir + "/ref.json");
    auto model = Model::load(dir, test_options());
    const auto expect = ids(ref["greedy_ids"]);
    INFO(name);
    CHECK(greedy(*model, ids(ref["prompt_ids"]), static_cast<int>(expect.size())) == expect);
  }
}

TEST_CASE("batched prefill equals token-by-token decoding; reset and truncation", "[runtime][hf]") {
  for (const char* name : {"llama-tiny", "gemma3-tiny", "gemma3n-tiny"}) {
    const std::string dir = unicorn::test::shared_path(std::string("fixtures/hf/") + name);
    if (dir.empty()) {
      WARN("SKIPPED: ../shared/fixtures/hf/" << name << " is absent");
      continue;
    }
    INFO(name);
    auto model = Model::load(dir, test_options());
    const int vocab = model->info().vocab_size;
    // A sequence longer than the sliding windows of the fixtures, built from the prompt and its greedy tail.
    const json ref = read_json(dir + "/ref.json");
    std::vector<int32_t> seq = ids(ref["prompt_ids"]);
    for (int32_t t : ids(ref["greedy_ids"])) seq.push_back(t);
    const int n = static_cast<int>(seq.size());

    std::vector<float> batch(static_cast<size_t>(n) * vocab), step(static_cast<size_t>(n) * vocab);
    model->forward(seq, 0, batch.data(), true);
    model->reset();
    for (int i = 0; i < n; ++i) model->forward(std::span<const int32_t>(&seq[i], 1), i, step.data() + i * vocab, false);
    CHECK(rel_l2(step, batch) < 1e-5);

    // Mixed chunks: 5 tokens, then 1, then the rest.
    std::vector<float> mixed(static_cast<size_t>(n) * vocab);
    model->reset();
    model->forward(std::span<const int32_t>(seq.data(), 5), 0, mixed.data(), true);
    model->forward(std::span<const int32_t>(seq.data() + 5, 1), 5, mixed.data() + 5 * vocab, true);
    model->forward(std::span<const int32_t>(seq.data() + 6, n - 6), 6, mixed.data() + 6 * vocab, true);
    CHECK(rel_l2(mixed, batch) < 1e-5);

    // Truncation: re-running the last 4 tokens from pos n-4 reproduces their logits.
    std::vector<float> tail(4 * static_cast<size_t>(vocab));
    model->forward(std::span<const int32_t>(seq.data() + n - 4, 4), n - 4, tail.data(), true);
    std::vector<float> want(batch.end() - 4 * vocab, batch.end());
    CHECK(rel_l2(tail, want) < 1e-5);

    // reset() forgets everything: the same batch gives the same logits again.
    model->reset();
    std::vector<float> again(batch.size());
    model->forward(seq, 0, again.data(), true);
    CHECK(rel_l2(again, batch) < 1e-6);

    // An F16 KV cache stays close to the F32 one.
    ModelOptions o16 = test_options();
    o16.kv_f16 = true;
    auto m16 = Model::load(dir, o16);
    std::vector<float> f16(batch.size());
    m16->forward(seq, 0, f16.data(), true);
    CHECK(rel_l2(f16, batch) < 1e-2);
  }
}

TEST_CASE("context size, limits and bad inputs", "[runtime][hf]") {
  const std::string dir = unicorn::test::shared_path("fixtures/hf/gemma3-tiny");
  if (dir.empty()) UNICORN_SKIP("../shared/fixtures/hf/gemma3-tiny is absent");
  auto model = Model::load(dir, test_options());
  const auto& info = model->info();
  CHECK(info.arch == "gemma3");
  CHECK(info.max_ctx == 512);
  CHECK(info.ctx == std::min(512, ModelOptions::kDefaultCtxCap));
  CHECK(info.bos_id == 2);
  CHECK(info.eos_ids == std::vector<int>{1});
  CHECK(info.weight_bytes > 0);

  // Sliding-window layers keep a ring of 2 * window - 1 positions, global layers the whole context.
  {
    const json cfg = read_json(dir + "/config.json");
    const int window = cfg["sliding_window"], kv_dim = cfg["num_key_value_heads"].get<int>() * cfg["head_dim"].get<int>();
    uint64_t rows = 0;
    for (const auto& t : cfg["layer_types"]) rows += t == "sliding_attention" ? 2 * window - 1 : info.ctx;
    CHECK(info.kv_bytes == rows * kv_dim * 2 * sizeof(float));
    const uint64_t full = uint64_t{cfg["layer_types"].size()} * info.ctx * kv_dim * 2 * sizeof(float);
    CHECK(info.kv_bytes < full / 4);
    ModelOptions o16 = test_options();
    o16.kv_f16 = true;
    CHECK(Model::load(dir, o16)->info().kv_bytes == info.kv_bytes / 2);
    // A long batch (chunked through the rings) equals decoding it token by token, far past the ring size.
    std::vector<int32_t> seq;
    for (int i = 0; i < 6 * window; ++i) seq.push_back(2 + (i * 7) % 40);
    const int n = static_cast<int>(seq.size()), vocab = info.vocab_size;
    std::vector<float> batch(static_cast<size_t>(n) * vocab), step(batch.size());
    model->forward(seq, 0, batch.data(), true);
    model->reset();
    for (int i = 0; i < n; ++i) model->forward(std::span<const int32_t>(&seq[i], 1), i, step.data() + i * vocab, false);
    CHECK(rel_l2(step, batch) < 1e-5);
    // Going back further than a window would need keys the rings no longer hold: refused; back to 0 is fine.
    std::vector<float> one(vocab);
    CHECK_THROWS_WITH(model->forward(std::span<const int32_t>(seq.data(), 1), n - window - 1, one.data(), false),
                      Catch::Contains("cannot go back"));
    model->forward(std::span<const int32_t>(seq.data() + n - window, window), n - window, one.data(), false);
    CHECK(rel_l2(one, std::vector<float>(batch.end() - vocab, batch.end())) < 1e-5);
    model->forward(std::span<const int32_t>(seq.data(), 1), 0, one.data(), false);
    CHECK(rel_l2(one, std::vector<float>(batch.begin(), batch.begin() + vocab)) < 1e-5);
    model->reset();
  }

  ModelOptions small = test_options();
  small.ctx = 6;
  auto m = Model::load(dir, small);
  CHECK(m->info().ctx == 6);
  std::vector<float> logits(m->info().vocab_size);
  const std::vector<int32_t> five = {2, 10, 11, 12, 13};
  m->forward(five, 0, logits.data(), false);
  const std::vector<int32_t> two = {14, 15};
  CHECK_THROWS_WITH(m->forward(two, 5, logits.data(), false), Catch::Contains("context"));
  CHECK_THROWS_WITH(m->forward(two, 7, logits.data(), false), Catch::Contains("cached"));
  const std::vector<int32_t> bad = {99999};
  CHECK_THROWS_WITH(m->forward(bad, 0, logits.data(), false), Catch::Contains("out of range"));
  const std::vector<int32_t> neg = {-1};
  CHECK_THROWS_WITH(m->forward(neg, 0, logits.data(), false), Catch::Contains("out of range"));
}

namespace {

// Writes a safetensors file by hand: F32 tensors with deterministic pseudo-random values.
void write_safetensors(const std::string& path, const std::map<std::string, std::vector<int64_t>>& tensors) {
  json header = json::object();
  std::vector<float> data;
  for (const auto& [name, shape] : tensors) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const size_t begin = data.size() * 4;
    std::mt19937 rng(static_cast<uint32_t>(n));
    std::normal_distribution<float> dist(0.0f, 0.05f);
    for (int64_t i = 0; i < n; ++i) data.push_back(shape.size() == 1 ? 1.0f : dist(rng));
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, data.size() * 4}}};
  }
  std::string h = header.dump();
  while (h.size() % 8 != 0) h += ' ';
  std::ofstream f(path, std::ios::binary);
  const uint64_t len = h.size();
  f.write(reinterpret_cast<const char*>(&len), 8);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * 4));
}

std::map<std::string, std::vector<int64_t>> tiny_llama_tensors() {
  std::map<std::string, std::vector<int64_t>> t;
  t["model.embed_tokens.weight"] = {32, 16};
  t["model.norm.weight"] = {16};
  t["lm_head.weight"] = {32, 16};
  const std::string p = "model.layers.0.";
  t[p + "input_layernorm.weight"] = {16};
  t[p + "post_attention_layernorm.weight"] = {16};
  t[p + "self_attn.q_proj.weight"] = {16, 16};
  t[p + "self_attn.k_proj.weight"] = {8, 16};
  t[p + "self_attn.v_proj.weight"] = {8, 16};
  t[p + "self_attn.o_proj.weight"] = {16, 16};
  t[p + "mlp.gate_proj.weight"] = {24, 16};
  t[p + "mlp.up_proj.weight"] = {24, 16};
  t[p + "mlp.down_proj.weight"] = {16, 24};
  return t;
}

const char* kTinyLlamaConfig = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 24,
  "num_attention_heads": 2, "num_key_value_heads": 1, "num_hidden_layers": 1, "vocab_size": 32,
  "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "tie_word_embeddings": false, "bos_token_id": 1,
  "eos_token_id": [2, 3]
})";

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

}  // namespace

TEST_CASE("load errors name the tensor, the file or the architecture", "[runtime]") {
  const std::string dir = unicorn::test::temp_dir("runtime-load-errors");

  // The hand-made model itself loads and runs.
  const std::string ok = dir + "/ok";
  std::filesystem::create_directories(ok);
  write_text(ok + "/config.json", kTinyLlamaConfig);
  write_safetensors(ok + "/model.safetensors", tiny_llama_tensors());
  {
    auto m = Model::load(ok, test_options());
    CHECK(m->info().arch == "llama");
    CHECK(m->info().eos_ids == std::vector<int>{2, 3});
    std::vector<float> logits(32);
    const std::vector<int32_t> toks = {1, 5, 7};
    m->forward(toks, 0, logits.data(), false);
    for (float v : logits) CHECK(std::isfinite(v));
  }

  // generation_config.json's eos ids (integer or list) join config.json's, in order, without duplicates.
  {
    write_text(ok + "/generation_config.json", R"({"bos_token_id": 1, "eos_token_id": [3, 7, 2]})");
    CHECK(Model::load(ok, test_options())->info().eos_ids == std::vector<int>{2, 3, 7});
    write_text(ok + "/generation_config.json", R"({"eos_token_id": 9})");
    CHECK(Model::load(ok, test_options())->info().eos_ids == std::vector<int>{2, 3, 9});
    write_text(ok + "/generation_config.json", R"({"temperature": 0.7})");
    CHECK(Model::load(ok, test_options())->info().eos_ids == std::vector<int>{2, 3});
    write_text(ok + "/generation_config.json", R"({"eos_token_id": "x"})");
    CHECK_THROWS_WITH(Model::load(ok, test_options()),
                      Catch::Contains("generation_config.json") && Catch::Contains("eos_token_id"));
    write_text(ok + "/generation_config.json", R"({"eos_token_id": [1,)");
    CHECK_THROWS_WITH(Model::load(ok, test_options()), Catch::Contains("generation_config.json"));
    std::filesystem::remove(ok + "/generation_config.json");
  }

  const std::string missing = dir + "/missing";
  std::filesystem::create_directories(missing);
  write_text(missing + "/config.json", kTinyLlamaConfig);
  auto t = tiny_llama_tensors();
  t.erase("model.layers.0.mlp.up_proj.weight");
  write_safetensors(missing + "/model.safetensors", t);
  try {
    Model::load(missing, test_options());
    FAIL("loading a checkpoint without mlp.up_proj succeeded");
  } catch (const unicorn::Error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("model.layers.0.mlp.up_proj.weight"));
    CHECK_THAT(msg, Catch::Contains("missing"));
  }

  const std::string shape = dir + "/shape";
  std::filesystem::create_directories(shape);
  write_text(shape + "/config.json", kTinyLlamaConfig);
  t = tiny_llama_tensors();
  t["model.layers.0.self_attn.k_proj.weight"] = {16, 16};
  write_safetensors(shape + "/model.safetensors", t);
  CHECK_THROWS_WITH(Model::load(shape, test_options()),
                    Catch::Contains("model.layers.0.self_attn.k_proj.weight") && Catch::Contains("expected shape [8, 16]"));

  const std::string unknown = dir + "/unknown";
  std::filesystem::create_directories(unknown);
  write_text(unknown + "/config.json",
             R"({"architectures": ["MambaForCausalLM"], "model_type": "mamba", "hidden_size": 16,
                 "num_hidden_layers": 1, "vocab_size": 32})");
  write_safetensors(unknown + "/model.safetensors", tiny_llama_tensors());
  CHECK_THROWS_WITH(Model::load(unknown, test_options()),
                    Catch::Contains("unsupported architecture") && Catch::Contains("MambaForCausalLM"));

  std::filesystem::remove_all(dir);
}

namespace {

// Rewrites an HF checkpoint's tensors under new names (raw bytes kept) into a fresh safetensors file.
void rewrite_checkpoint(const std::string& from_dir, const std::string& to_dir, const std::string& config_text,
                        const std::function<std::string(const std::string&)>& rename) {
  auto src = unicorn::open_model_source(from_dir);
  json header = json::object();
  std::string data;
  for (const auto& t : src->tensors()) {
    const char* dtype = t.dtype == unicorn::DType::F32 ? "F32" : t.dtype == unicorn::DType::BF16 ? "BF16" : "F16";
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(t.data), t.nbytes);
    header[rename(t.name)] = {{"dtype", dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  // A vision-tower tensor that the text model must ignore.
  const float extra[4] = {1, 2, 3, 4};
  header["model.vision_tower.patch_embed.weight"] = {{"dtype", "F32"}, {"shape", {2, 2}},
                                                      {"data_offsets", {data.size(), data.size() + 16}}};
  data.append(reinterpret_cast<const char*>(extra), 16);
  std::string h = header.dump();
  while (h.size() % 8 != 0) h += ' ';
  std::filesystem::create_directories(to_dir);
  std::ofstream f(to_dir + "/model.safetensors", std::ios::binary);
  const uint64_t len = h.size();
  f.write(reinterpret_cast<const char*>(&len), 8);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  std::ofstream(to_dir + "/config.json") << config_text;
}

std::string replace_prefix(const std::string& name, const std::string& from, const std::string& to) {
  return name.rfind(from, 0) == 0 ? to + name.substr(from.size()) : name;
}

}  // namespace

TEST_CASE("multimodal Gemma checkpoints load their language model", "[runtime][hf]") {
  const std::string tmp = unicorn::test::temp_dir("runtime-multimodal");
  struct Case {
    const char* fixture;
    const char* arch;
    const char* model_type;
    const char* prefix;  // where the text model's "model." tensors move to
  };
  for (const Case& c : {Case{"gemma3n-tiny", "Gemma3nForConditionalGeneration", "gemma3n", "model.language_model."},
                        Case{"gemma3-tiny", "Gemma3ForConditionalGeneration", "gemma3", "language_model.model."}}) {
    const std::string dir = unicorn::test::shared_path(std::string("fixtures/hf/") + c.fixture);
    if (dir.empty()) {
      WARN("SKIPPED: ../shared/fixtures/hf/" << c.fixture << " is absent");
      continue;
    }
    INFO(c.fixture);
    json text = read_json(dir + "/config.json");
    json wrapped = {{"architectures", {c.arch}}, {"model_type", c.model_type}, {"text_config", text},
                    {"vision_config", json::object()}};
    const std::string out = tmp + "/" + c.fixture;
    rewrite_checkpoint(dir, out, wrapped.dump(), [&](const std::string& n) { return replace_prefix(n, "model.", c.prefix); });
    auto model = Model::load(out, test_options());
    CHECK_THAT(model->info().note, Catch::Contains("vision"));
    const json ref = read_json(dir + "/ref.json");
    const auto prompt = ids(ref["prompt_ids"]);
    std::vector<float> got(prompt.size() * model->info().vocab_size);
    model->forward(prompt, 0, got.data(), true);
    CHECK(rel_l2(got, read_f32(dir + "/logits.f32")) < 1e-3);
  }
  std::filesystem::remove_all(tmp);
}
