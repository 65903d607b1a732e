// Tokenizer against llama.cpp's vocabulary test vectors (../shared/vocab) and the HF references of the
// shakespeare models: every case must give exactly the reference ids.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <algorithm>

#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "formats/sentencepiece.h"
#include "runtime/tokenizer.h"
#include "tests/test_util.h"

using unicorn::test::gunzip;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}


struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// .inp: texts each followed by "\n__ggml_vocab_test__\n"; .out: one line of ids per text.
std::vector<Case> read_cases(const std::string& inp_path, const std::string& out_path) {
  const std::string inp = read_file(inp_path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  size_t pos = 0;
  for (;;) {
    const size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) break;
    cases.push_back({inp.substr(pos, hit - pos), {}});
    pos = hit + sep.size();
  }
  std::ifstream out(out_path);
  std::string line;
  size_t i = 0;
  while (std::getline(out, line)) {
    REQUIRE(i < cases.size());
    std::istringstream ls(line);
    int32_t id;
    while (ls >> id) cases[i].ids.push_back(id);
    ++i;
  }
  REQUIRE(i == cases.size());
  return cases;
}

std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    s += ' ';
    s += std::to_string(id);
  }
  return s;
}

// Runs every case; returns the number that match. Mismatches are reported with both id lists.
int run_cases(const unicorn::Tokenizer& tok, const std::vector<Case>& cases, bool parse_special, const std::string& name,
              bool check_round_trip) {
  int pass = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok.encode(cases[i].text, /*add_bos=*/false, parse_special);
    if (got == cases[i].ids) {
      ++pass;
    } else {
      UNSCOPED_INFO(name << " case " << i << " text '" << cases[i].text << "'\n  want:" << ids_str(cases[i].ids)
                         << "\n  got: " << ids_str(got));
    }
    if (check_round_trip) {
      CHECK(tok.decode(got) == cases[i].text);
    }
  }
  WARN(name << ": " << pass << " / " << cases.size() << " cases match");
  return pass;
}

void check_gguf_vocab(const std::string& name, bool round_trip) {
  const std::string base = unicorn::test::shared_path("vocab/ggml-vocab-" + name + ".gguf");
  if (base.empty()) UNICORN_SKIP("../shared/vocab/ggml-vocab-" << name << ".gguf is absent");
  const auto cases = read_cases(base + ".inp", base + ".out");
  unicorn::GgufReader reader(base);
  const auto tok = unicorn::Tokenizer::from_metadata(reader.metadata());
  const int pass = run_cases(*tok, cases, /*parse_special=*/false, name, round_trip);
  CHECK(pass == static_cast<int>(cases.size()));
}

}  // namespace

TEST_CASE("tokenizer vectors: llama-spm", "[tokenizer]") { check_gguf_vocab("llama-spm", true); }
TEST_CASE("tokenizer vectors: phi-3", "[tokenizer]") { check_gguf_vocab("phi-3", true); }
TEST_CASE("tokenizer vectors: gpt-2", "[tokenizer]") { check_gguf_vocab("gpt-2", true); }
TEST_CASE("tokenizer vectors: starcoder", "[tokenizer]") { check_gguf_vocab("starcoder", true); }
TEST_CASE("tokenizer vectors: deepseek-coder", "[tokenizer]") { check_gguf_vocab("deepseek-coder", true); }
TEST_CASE("tokenizer vectors: falcon", "[tokenizer]") { check_gguf_vocab("falcon", true); }

TEST_CASE("tokenizer vectors: gemma3 tokenizer.json", "[tokenizer]") {
  const std::string json_gz = unicorn::test::shared_path("vocab/gemma3-tokenizer.json.gz");
  if (json_gz.empty()) UNICORN_SKIP("../shared/vocab/gemma3-tokenizer.json.gz is absent");
  const std::string base = unicorn::test::shared_path("vocab/gemma3-tokenizer.json");
  const std::string cfg_gz = unicorn::test::shared_path("vocab/gemma3-tokenizer_config.json.gz");
  const auto cases = read_cases(json_gz.substr(0, json_gz.size() - 3) + ".inp", json_gz.substr(0, json_gz.size() - 3) + ".out");
  (void)base;
  const auto tok = unicorn::Tokenizer::from_hf_json(gunzip(json_gz), cfg_gz.empty() ? "" : gunzip(cfg_gz));
  const int pass = run_cases(*tok, cases, /*parse_special=*/true, "gemma3", true);
  CHECK(pass == static_cast<int>(cases.size()));
  CHECK(tok->vocab_size() == 262145);  // 262,144 pieces + <image_soft_token>, as HF counts added tokens
  CHECK(tok->bos_id() == 2);
  CHECK(tok->add_bos_default());
  const auto eot = tok->token_id("<end_of_turn>");
  REQUIRE(eot.has_value());
  CHECK(tok->is_eog(*eot));
  CHECK(tok->is_eog(1));  // <eos>
  // Special tokens written in the text are recognized only with parse_special.
  const auto with = tok->encode("<start_of_turn>user\nhi<end_of_turn>", false, true);
  REQUIRE(!with.empty());
  CHECK(with.front() == *tok->token_id("<start_of_turn>"));
  CHECK(with.back() == *eot);
  const auto without = tok->encode("<start_of_turn>", false, false);
  CHECK(std::find(without.begin(), without.end(), *tok->token_id("<start_of_turn>")) == without.end());
  CHECK(!tok->chat_template().empty());
}

TEST_CASE("tokenizer: shakespeare models match HF prompt ids and greedy text", "[tokenizer]") {
  for (const char* model : {"shakespeare-llama", "shakespeare-gemma3"}) {
    const std::string dir = unicorn::test::shared_path(std::string("models/") + model);
    if (dir.empty()) UNICORN_SKIP("../shared/models/" << model << " is absent");
    const auto ref = nlohmann::json::parse(read_file(dir + "/ref.json"));
    const auto tok = unicorn::Tokenizer::load(dir);
    INFO(model);
    CHECK(tok->add_bos_default());
    const auto ids = tok->encode(ref["prompt"].get<std::string>(), tok->add_bos_default());
    CHECK(ids == ref["prompt_ids"].get<std::vector<int32_t>>());
    const auto greedy = ref["greedy_ids"].get<std::vector<int32_t>>();
    CHECK(tok->decode(greedy) == ref["greedy_text"].get<std::string>());
    std::string streamed;
    for (int32_t id : greedy) streamed += tok->decode_token(id);
    CHECK(streamed == ref["greedy_text"].get<std::string>());
    CHECK(tok->eos_id() == 1);
    CHECK(tok->is_eog(1));
  }
}

namespace {

// A SentencePiece ModelProto holding the pieces, scores and types of a GGUF SPM vocabulary (what llama.cpp's
// converter read from the original tokenizer.model), written with the formats/ writer.
unicorn::SpmModel spm_from_gguf(const unicorn::Metadata& md) {
  unicorn::SpmModel m;
  const auto& toks = md.get("tokenizer.ggml.tokens").as_array().items;
  const auto& scores = md.get("tokenizer.ggml.scores").as_array().items;
  const auto& types = md.get("tokenizer.ggml.token_type").as_array().items;
  for (size_t i = 0; i < toks.size(); ++i)
    m.pieces.push_back({toks[i].as_string(), static_cast<float>(scores[i].as_double()), static_cast<int32_t>(types[i].as_int())});
  m.model_type = unicorn::SpmModel::kBpe;  // Llama 2's tokenizer.model is a BPE model with byte fallback
  m.byte_fallback = true;
  m.unk_id = static_cast<int32_t>(md.get_int("tokenizer.ggml.unknown_token_id"));
  m.bos_id = static_cast<int32_t>(md.get_int("tokenizer.ggml.bos_token_id"));
  m.eos_id = static_cast<int32_t>(md.get_int("tokenizer.ggml.eos_token_id"));
  const unicorn::MetaValue* prefix = md.find("tokenizer.ggml.add_space_prefix");
  m.add_dummy_prefix = prefix == nullptr || prefix->as_bool();
  m.normalizer_name = "identity";
  return m;
}

}  // namespace

TEST_CASE("tokenizer vectors: llama-spm through a SentencePiece tokenizer.model", "[tokenizer]") {
  const std::string base = unicorn::test::shared_path("vocab/ggml-vocab-llama-spm.gguf");
  if (base.empty()) UNICORN_SKIP("../shared/vocab/ggml-vocab-llama-spm.gguf is absent");
  const auto cases = read_cases(base + ".inp", base + ".out");
  unicorn::GgufReader reader(base);
  const unicorn::SpmModel spm = spm_from_gguf(reader.metadata());
  const std::string dir = unicorn::test::temp_dir("spm-vocab");
  unicorn::SentencePieceWriter::write(spm, dir + "/tokenizer.model");
  // A directory with tokenizer.model and no tokenizer.json takes the tokenizer.model path.
  const auto tok = unicorn::Tokenizer::load(dir);
  CHECK(tok->vocab_size() == static_cast<int>(spm.pieces.size()));
  CHECK(tok->bos_id() == spm.bos_id);
  CHECK(tok->add_bos_default());
  const int pass = run_cases(*tok, cases, /*parse_special=*/false, "llama-spm tokenizer.model", true);
  CHECK(pass == static_cast<int>(cases.size()));
  // The file itself also loads by name; a truncated copy fails naming the file and a field.
  CHECK(unicorn::Tokenizer::load(dir + "/tokenizer.model")->vocab_size() == tok->vocab_size());
  const std::string bytes = read_file(dir + "/tokenizer.model");
  {
    std::ofstream f(dir + "/tokenizer.model", std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  CHECK_THROWS_WITH(unicorn::Tokenizer::load(dir), Catch::Contains(dir + "/tokenizer.model") && Catch::Contains("pieces["));
  std::filesystem::remove_all(dir);
}
