// Unit checks of the tokenizer's parts: Unicode tables, the regex engine, split behaviors, HF pipelines built from a
// GGUF vocabulary (they must agree with llama.cpp's vectors), and malformed input.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "formats/gguf.h"
#include "runtime/regex.h"
#include "runtime/tokenizer.h"
#include "runtime/unicode.h"
#include "tests/test_util.h"

using unicorn::Regex;
using unicorn::SplitBehavior;

namespace {

std::vector<std::string> split(const std::string& pattern, const std::string& text,
                               SplitBehavior b = SplitBehavior::Isolated, bool invert = false) {
  const Regex re(pattern);
  const auto cpts = unicorn::unicode::to_cpts(text);
  std::vector<std::pair<size_t, size_t>> spans;
  unicorn::regex_split(re, cpts, 0, cpts.size(), b, invert, spans);
  std::vector<std::string> out;
  for (auto [s, e] : spans) {
    std::string piece;
    for (size_t i = s; i < e; ++i) unicorn::unicode::append_utf8(piece, cpts[i]);
    out.push_back(piece);
  }
  return out;
}

using V = std::vector<std::string>;
const char* const kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char* const kLlama3Hf =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

}  // namespace

TEST_CASE("unicode: categories, case, UTF-8", "[tokenizer]") {
  using namespace unicorn::unicode;
  CHECK(is_letter('a'));
  CHECK(is_letter(0x0416));   // Ж
  CHECK(is_letter(0x6211));   // 我
  CHECK(is_number('7'));
  CHECK(is_number(0x0663));   // Arabic-Indic three
  CHECK(is_whitespace(0x3000));
  CHECK(is_whitespace('\n'));
  CHECK_FALSE(is_whitespace(0x200B));  // zero width space is not White_Space
  CHECK((flags('$') & kSymbol) != 0);
  CHECK((flags('!') & kPunct) != 0);
  CHECK((flags(0x0301) & kMark) != 0);
  CHECK(flags(0x0378) == 0);  // unassigned
  CHECK(to_lower('Q') == 'q');
  CHECK(to_lower(0x0416) == 0x0436);
  CHECK(to_upper(0x00E9) == 0x00C9);
  CHECK(to_cpts("a\xC3\xA9\xF0\x9F\xA6\x99") == std::vector<uint32_t>{'a', 0xE9, 0x1F999});
  CHECK(to_cpts("\xFF" "a\xE2\x82") == std::vector<uint32_t>{0xFFFD, 'a', 0xFFFD, 0xFFFD});
  CHECK(to_utf8(0x1F999) == "\xF0\x9F\xA6\x99");
  // GPT-2 byte map: space -> U+0120, printable ASCII -> itself, and back.
  CHECK(byte_to_bpe_char(' ') == "\xC4\xA0");
  CHECK(byte_to_bpe_char('a') == "a");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string back;
  CHECK(bpe_text_to_bytes(bytes_to_bpe_text(all), back));
  CHECK(back == all);
}

TEST_CASE("regex: GPT-2 and Llama 3 pre-tokenizer patterns", "[tokenizer]") {
  CHECK(split(kGpt2, "Hello world's  test") == V{"Hello", " world", "'s", " ", " test"});
  CHECK(split(kGpt2, "a   b") == V{"a", "  ", " b"});
  CHECK(split(kGpt2, "x  ") == V{"x", "  "});
  CHECK(split(kGpt2, "3.14!!") == V{"3", ".", "14", "!!"});
  CHECK(split(kLlama3Hf, "1234567") == V{"123", "456", "7"});
  CHECK(split(kLlama3Hf, "I'M here\n\n  ok") == V{"I", "'M", " here", "\n\n", " ", " ok"});
  CHECK(split(kLlama3Hf, "(hello)") == V{"(hello", ")"});
  CHECK(split(kLlama3Hf, "Ünïcödé Ж") == V{"Ünïcödé", " Ж"});
}

TEST_CASE("regex: syntax features", "[tokenizer]") {
  CHECK(Regex("a{2,3}").match_at(unicorn::unicode::to_cpts("aaaa"), 0) == 3);
  CHECK(Regex("a{2,3}?").match_at(unicorn::unicode::to_cpts("aaaa"), 0) == 2);
  CHECK(Regex("a{2}").match_at(unicorn::unicode::to_cpts("a"), 0) == -1);
  CHECK(Regex("(?:ab)+").match_at(unicorn::unicode::to_cpts("ababa"), 0) == 4);
  CHECK(Regex("a(?=b)").match_at(unicorn::unicode::to_cpts("ab"), 0) == 1);
  CHECK(Regex("a(?!b)").match_at(unicorn::unicode::to_cpts("ab"), 0) == -1);
  CHECK(Regex("(?i:abc)").match_at(unicorn::unicode::to_cpts("AbC"), 0) == 3);
  CHECK(Regex("[^\\s\\p{L}]+").match_at(unicorn::unicode::to_cpts("12!x"), 0) == 3);
  CHECK(Regex("[\\S]+").match_at(unicorn::unicode::to_cpts("ab c"), 0) == 2);
  CHECK(Regex("[a\\-z]+").match_at(unicorn::unicode::to_cpts("a-z-b"), 0) == 4);
  CHECK(Regex("[\\u4e00-\\u9fa5]+").match_at(unicorn::unicode::to_cpts("\xE6\x88\x91\xE6\x83\xB3x"), 0) == 2);
  CHECK(Regex("\\s+$").match_at(unicorn::unicode::to_cpts("  "), 0) == 2);
  CHECK(Regex("^a").match_at(unicorn::unicode::to_cpts("ba"), 1) == -1);
  CHECK(Regex("a|ab").match_at(unicorn::unicode::to_cpts("ab"), 0) == 1);  // leftmost-first, not longest
  CHECK_THROWS_AS(Regex("(a"), unicorn::Error);
  CHECK_THROWS_AS(Regex("[a-"), unicorn::Error);
  CHECK_THROWS_AS(Regex("\\p{Han}"), unicorn::Error);
  CHECK_THROWS_AS(Regex("(?<=a)b"), unicorn::Error);
  CHECK_THROWS_AS(Regex("*a"), unicorn::Error);
  CHECK_THROWS_AS(Regex("\\q"), unicorn::Error);
}

TEST_CASE("regex_split: HF split behaviors", "[tokenizer]") {
  CHECK(split("-", "a-b--c") == V{"a", "-", "b", "-", "-", "c"});
  CHECK(split("-", "a-b--c", SplitBehavior::Removed) == V{"a", "b", "c"});
  CHECK(split("-", "a-b--c", SplitBehavior::MergedWithPrevious) == V{"a-", "b-", "-", "c"});
  CHECK(split("-", "a-b--c", SplitBehavior::MergedWithNext) == V{"a", "-b", "-", "-c"});
  CHECK(split("-", "a-b--c", SplitBehavior::Contiguous) == V{"a", "-", "b", "--", "c"});
  CHECK(split("-", "a-b--c", SplitBehavior::Isolated, true) == V{"a", "-", "b", "-", "-", "c"});
  CHECK(split("-", "a-b--c", SplitBehavior::Removed, true) == V{"-", "-", "-"});
  CHECK(split(" ", "\xE2\x96\x81hi\xE2\x96\x81there", SplitBehavior::MergedWithPrevious) ==
        V{"\xE2\x96\x81hi\xE2\x96\x81there"});
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// tokenizer.json text for a GGUF byte-level BPE vocabulary with the given pre_tokenizer.
std::string hf_json_from_gguf(const unicorn::Metadata& md, const nlohmann::json& pre_tokenizer, bool ignore_merges) {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& tokens = md.get("tokenizer.ggml.tokens").as_array().items;
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i].as_string()] = i;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& m : md.get("tokenizer.ggml.merges").as_array().items) merges.push_back(m.as_string());
  nlohmann::json j;
  j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", ignore_merges}};
  j["pre_tokenizer"] = pre_tokenizer;
  j["decoder"] = {{"type", "ByteLevel"}};
  return j.dump();
}

std::vector<std::pair<std::string, std::vector<int32_t>>> vocab_cases(const std::string& base) {
  const std::string inp = read_file(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::pair<std::string, std::vector<int32_t>>> cases;
  size_t pos = 0, hit;
  while ((hit = inp.find(sep, pos)) != std::string::npos) {
    cases.push_back({inp.substr(pos, hit - pos), {}});
    pos = hit + sep.size();
  }
  std::ifstream out(base + ".out");
  std::string line;
  for (size_t i = 0; std::getline(out, line) && i < cases.size(); ++i) {
    std::istringstream ls(line);
    int32_t id;
    while (ls >> id) cases[i].second.push_back(id);
  }
  return cases;
}

}  // namespace

TEST_CASE("tokenizer: HF ByteLevel and Split+ByteLevel pipelines agree with llama.cpp on the GPT-2 vocabulary",
          "[tokenizer]") {
  const std::string base = unicorn::test::shared_path("vocab/ggml-vocab-gpt-2.gguf");
  if (base.empty()) UNICORN_SKIP("../shared/vocab/ggml-vocab-gpt-2.gguf is absent");
  unicorn::GgufReader reader(base);
  const auto cases = vocab_cases(base);
  REQUIRE(cases.size() == 46);
  const nlohmann::json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const nlohmann::json split_then_bytes = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", kGpt2}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  for (const auto& pre : {byte_level, split_then_bytes}) {
    const auto tok = unicorn::Tokenizer::from_hf_json(hf_json_from_gguf(reader.metadata(), pre, false));
    int pass = 0;
    for (const auto& [text, ids] : cases) {
      const auto got = tok->encode(text, false);
      pass += got == ids;
      CHECK(tok->decode(got) == text);
    }
    CHECK(pass == 46);
  }
}

TEST_CASE("tokenizer: Llama 3's tokenizer.json regex (?i:...) equals llama.cpp's llama-bpe preset", "[tokenizer]") {
  // Same vocabulary, two routes: HF Split with the original regex vs GGUF tokenizer.ggml.pre = llama-bpe.
  const std::string base = unicorn::test::shared_path("vocab/ggml-vocab-gpt-2.gguf");
  if (base.empty()) UNICORN_SKIP("../shared/vocab/ggml-vocab-gpt-2.gguf is absent");
  unicorn::GgufReader reader(base);
  unicorn::Metadata md = reader.metadata();
  md.set("tokenizer.ggml.pre", unicorn::MetaValue::str("llama-bpe"));
  const auto gguf_tok = unicorn::Tokenizer::from_metadata(md);
  const nlohmann::json pre = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", kLlama3Hf}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  const auto hf_tok = unicorn::Tokenizer::from_hf_json(hf_json_from_gguf(reader.metadata(), pre, true));
  for (const auto& [text, ids] : vocab_cases(base)) {
    INFO(text);
    CHECK(hf_tok->encode(text, false) == gguf_tok->encode(text, false));
  }
  CHECK(gguf_tok->add_bos_default());  // llama-bpe asks for BOS unless the file says otherwise
}

TEST_CASE("tokenizer: malformed input is a clear Error", "[tokenizer]") {
  using unicorn::Tokenizer;
  CHECK_THROWS_AS(Tokenizer::from_hf_json("{"), unicorn::Error);
  CHECK_THROWS_AS(Tokenizer::from_hf_json("{}"), unicorn::Error);
  CHECK_THROWS_WITH(Tokenizer::from_hf_json(R"({"model": {"type": "Unigram", "vocab": []}})"),
                    Catch::Contains("Unigram"));
  CHECK_THROWS_AS(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": -1}}})"), unicorn::Error);
  CHECK_THROWS_AS(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [3]}})"),
                  unicorn::Error);
  CHECK_THROWS_WITH(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}},
                                                "normalizer": {"type": "NFKC"}})"),
                    Catch::Contains("NFKC"));
  CHECK_THROWS_AS(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}},
      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}})"),
                  unicorn::Error);
  unicorn::Metadata md;
  CHECK_THROWS_AS(Tokenizer::from_metadata(md), unicorn::Error);
  md.set("tokenizer.ggml.model", unicorn::MetaValue::str("llama"));
  CHECK_THROWS_WITH(Tokenizer::from_metadata(md), Catch::Contains("tokenizer.ggml.tokens"));
  md.set("tokenizer.ggml.tokens", unicorn::MetaValue::array(unicorn::MetaType::STRING, {unicorn::MetaValue::str("a")}));
  md.set("tokenizer.ggml.scores", unicorn::MetaValue::array(unicorn::MetaType::F32, {}));
  CHECK_THROWS_WITH(Tokenizer::from_metadata(md), Catch::Contains("tokenizer.ggml.scores"));
  md.set("tokenizer.ggml.scores", unicorn::MetaValue::array(unicorn::MetaType::F32, {unicorn::MetaValue::f32(0)}));
  md.set("tokenizer.ggml.model", unicorn::MetaValue::str("bert"));
  CHECK_THROWS_WITH(Tokenizer::from_metadata(md), Catch::Contains("bert"));
  // Ids out of range are refused in decode.
  const auto tok = Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
                                                "merges": ["a b"]}})");
  CHECK(tok->encode("abab", false) == std::vector<int32_t>{2, 2});
  CHECK(tok->decode(std::vector<int32_t>{2, 0}) == "aba");
  CHECK_THROWS_AS(tok->decode_token(3), unicorn::Error);
  CHECK_THROWS_AS(tok->decode_token(-1), unicorn::Error);
}

TEST_CASE("tokenizer: SentencePiece GGUF vocabulary details (llama-spm)", "[tokenizer]") {
  const std::string base = unicorn::test::shared_path("vocab/ggml-vocab-llama-spm.gguf");
  if (base.empty()) UNICORN_SKIP("../shared/vocab/ggml-vocab-llama-spm.gguf is absent");
  unicorn::GgufReader reader(base);
  const auto tok = unicorn::Tokenizer::from_metadata(reader.metadata());
  CHECK(tok->bos_id() == 1);
  CHECK(tok->eos_id() == 2);
  CHECK(tok->add_bos_default());
  CHECK(tok->is_eog(2));
  // Control tokens in the text: recognized with parse_special; the text after one gets the dummy prefix again
  // (llama.cpp), so "<s>Hello" tokenizes like BOS + "Hello".
  CHECK(tok->encode("<s>Hello", false, true) == tok->encode("Hello", true));
  const auto plain = tok->encode("<s>Hello", false, false);
  CHECK(plain[0] != 1);
  // Byte fallback: a character missing from the vocabulary becomes its UTF-8 bytes and decodes back.
  const std::string rare = "\xF0\x9F\xA6\x99";  // 🦙
  const auto rare_ids = tok->encode(rare, true);
  CHECK(rare_ids.front() == 1);
  CHECK(tok->decode(rare_ids) == "<s> " + rare);  // the dummy prefix is only dropped from a first text token
  CHECK(tok->decode(std::vector<int32_t>(rare_ids.begin() + 1, rare_ids.end())) == rare);
  CHECK(tok->decode_token(*tok->token_id("<0x0A>")) == "\n");
}
