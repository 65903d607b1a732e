// Generator and TextStream: stop strings across token boundaries, UTF-8-safe streaming, EOG, -n and full-context
// stops. The model here is a TEST DOUBLE (ScriptedModel) that returns fixed one-hot logits from a script; it runs
// no network and stands in only for the Model interface.
#include <catch2/catch.hpp>

#include <map>

#include "base/error.h"
#include "runtime/generate.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "tests/test_util.h"

using namespace unicorn;

namespace {

// TEST DOUBLE of Model: the k-th forward call makes script[k] the argmax of the last row; with all_logits, row i
// is one-hot at the input token i. It checks the position contract of Model::forward.
class ScriptedModel : public Model {
 public:
  ScriptedModel(int vocab, int ctx, std::vector<int32_t> script) : script_(std::move(script)) {
    info_.arch = "test-double";
    info_.vocab_size = vocab;
    info_.ctx = ctx;
  }
  const ModelInfo& info() const override { return info_; }
  const Metadata& metadata() const override { return meta_; }
  void reset() override {
    cached_ = 0;
    calls_ = 0;
  }
  void forward(std::span<const int32_t> tokens, int pos, float* logits, bool all_logits) override {
    if (pos > cached_) fail("test double: forward at position ", pos, " but only ", cached_, " cached");
    if (pos + static_cast<int>(tokens.size()) > info_.ctx) fail("test double: context overflow");
    for (int32_t t : tokens) fed_.push_back(t);
    cached_ = pos + static_cast<int>(tokens.size());
    const int v = info_.vocab_size;
    const size_t rows = all_logits ? tokens.size() : 1;
    std::fill(logits, logits + rows * v, 0.0f);
    for (size_t r = 0; r + 1 < rows; ++r) logits[r * v + tokens[r]] = 1.0f;
    const int32_t next = calls_ < script_.size() ? script_[calls_] : 0;
    logits[(rows - 1) * v + next] = 10.0f;
    ++calls_;
  }
  std::vector<int32_t> fed_;
  size_t calls_ = 0;

 private:
  ModelInfo info_;
  Metadata meta_;
  std::vector<int32_t> script_;
  int cached_ = 0;
};

SamplerOptions greedy() {
  SamplerOptions o;
  o.temp = 0.0f;
  return o;
}

// A decoder over a fixed table of byte pieces.
TokenDecoder table(std::vector<std::string> pieces) {
  return [pieces](int32_t id) { return pieces.at(id); };
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

struct Run {
  GenerateResult res;
  std::vector<std::string> chunks;
  std::vector<int32_t> fed;
};

Run run(std::vector<std::string> pieces, std::vector<int32_t> script, GenerateOptions opts, int ctx = 64,
        std::vector<int32_t> eog = {}, std::vector<int32_t> prompt = {0}) {
  ScriptedModel model(static_cast<int>(pieces.size()), ctx, std::move(script));
  Generator gen(model, table(std::move(pieces)), std::move(eog));
  Sampler sampler(greedy());
  Run r;
  r.res = gen.generate(prompt, sampler, opts, [&](std::string_view s) { r.chunks.emplace_back(s); });
  r.fed = model.fed_;
  return r;
}

std::string joined(const std::vector<std::string>& chunks) {
  std::string s;
  for (const auto& c : chunks) s += c;
  return s;
}

}  // namespace

TEST_CASE("a stop string spanning three tokens stops generation and is not emitted", "[generate]") {
  // pieces:              0       1      2       3     4     5
  std::vector<std::string> p = {"<s>", "Hel", "lo", " wo", "rl", "d!"};
  GenerateOptions o;
  o.max_new_tokens = 20;
  o.stop = {" world"};
  Run r = run(p, {1, 2, 3, 4, 5, 1, 1}, o);
  CHECK(r.res.stop_reason == StopReason::StopString);
  CHECK(r.res.text == "Hello");
  CHECK(joined(r.chunks) == "Hello");
  CHECK(r.res.generated_ids == std::vector<int32_t>{1, 2, 3, 4, 5});
  for (const auto& c : r.chunks) CHECK(c.find(" wo") == std::string::npos);
  CHECK(r.res.stop_detail.find(" world") != std::string::npos);
}

TEST_CASE("text held back as a possible stop prefix is released when the stop cannot match", "[generate]") {
  std::vector<std::string> p = {"<s>", "Hel", "lo", " wor", "ld", "!"};
  GenerateOptions o;
  o.max_new_tokens = 5;
  o.stop = {"lox", "d?"};
  Run r = run(p, {1, 2, 3, 4, 5}, o);
  CHECK(r.res.stop_reason == StopReason::MaxTokens);
  CHECK(r.res.text == "Hello world!");
  // "Hel" holds "l" (may start "lox"), "llo" holds "lo", "lo wor" is safe, "ld" holds "d" (may start "d?").
  CHECK(r.chunks == std::vector<std::string>{"He", "l", "lo wor", "l", "d!"});
}

TEST_CASE("a stop string inside one token cuts the token's text", "[generate]") {
  std::vector<std::string> p = {"<s>", "abc", "deSTOPfg"};
  GenerateOptions o;
  o.stop = {"STOP"};
  Run r = run(p, {1, 2, 1, 1}, o);
  CHECK(r.res.stop_reason == StopReason::StopString);
  CHECK(r.res.text == "abcde");
}

TEST_CASE("the earliest of several stop strings wins", "[generate]") {
  std::vector<std::string> p = {"<s>", "one ", "two three"};
  GenerateOptions o;
  o.stop = {"three", "wo"};
  Run r = run(p, {1, 2, 1}, o);
  CHECK(r.res.text == "one t");
  CHECK(r.res.stop_detail.find("\"wo\"") != std::string::npos);
}

TEST_CASE("UTF-8 characters split over tokens are never split in the stream", "[generate]") {
  // "été€😀!" with each multi-byte character cut across token boundaries.
  std::vector<std::string> p = {"<s>", "\xC3", "\xA9t\xC3", "\xA9", "\xE2\x82", "\xAC", "\xF0", "\x9F", "\x98",
                                "\x80!"};
  GenerateOptions o;
  o.max_new_tokens = 9;
  Run r = run(p, {1, 2, 3, 4, 5, 6, 7, 8, 9}, o);
  CHECK(r.res.text == "\xC3\xA9t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80!");
  CHECK(joined(r.chunks) == r.res.text);
  for (const auto& c : r.chunks) {
    INFO("chunk of " << c.size() << " bytes");
    CHECK(!c.empty());
    CHECK(valid_utf8(c));
  }
  CHECK(r.chunks == std::vector<std::string>{"\xC3\xA9t", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80!"});
}

TEST_CASE("a stop string made of multi-byte characters is matched across tokens", "[generate]") {
  std::vector<std::string> p = {"<s>", "a\xE2\x82", "\xAC\xE2", "\x82\xAC", "b"};
  GenerateOptions o;
  o.stop = {"\xE2\x82\xAC\xE2\x82\xAC"};  // "€€"
  Run r = run(p, {1, 2, 3, 4}, o);
  CHECK(r.res.stop_reason == StopReason::StopString);
  CHECK(r.res.text == "a");
}

TEST_CASE("an end-of-generation token stops and is not printed", "[generate]") {
  std::vector<std::string> p = {"<s>", "x", "<eos>", "y"};
  GenerateOptions o;
  o.max_new_tokens = 10;
  Run r = run(p, {1, 1, 2, 3}, o, 64, {2});
  CHECK(r.res.stop_reason == StopReason::EndOfGeneration);
  CHECK(r.res.generated_ids == std::vector<int32_t>{1, 1, 2});
  CHECK(r.res.text == "xx");
  o.ignore_eog = true;
  Run r2 = run(p, {1, 1, 2, 3}, o, 64, {2});
  CHECK(r2.res.generated_ids.size() == 10);
  CHECK(r2.res.text.substr(0, 11) == "xx<eos>y<s>");  // past its script the double predicts token 0
}

TEST_CASE("-n limits the new tokens and the last token is not fed back", "[generate]") {
  std::vector<std::string> p = {"<s>", "a", "b", "c"};
  GenerateOptions o;
  o.max_new_tokens = 3;
  Run r = run(p, {1, 2, 3, 1}, o, 64, {}, {0, 3, 3});
  CHECK(r.res.stop_reason == StopReason::MaxTokens);
  CHECK(r.res.generated_ids == std::vector<int32_t>{1, 2, 3});
  CHECK(r.fed == std::vector<int32_t>{0, 3, 3, 1, 2});  // prompt batch, then each new token but the last
  CHECK(r.res.timings.prefill_tokens == 3);
  CHECK(r.res.timings.decode_tokens == 2);
  o.max_new_tokens = 0;
  Run none = run(p, {1}, o);
  CHECK(none.res.generated_ids.empty());
}

TEST_CASE("a full context ends generation with a clear reason", "[generate]") {
  std::vector<std::string> p = {"<s>", "a", "b"};
  GenerateOptions o;  // no -n: runs until the context is full
  Run r = run(p, {1, 2, 1, 2, 1, 2}, o, 5, {}, {0, 0});
  CHECK(r.res.stop_reason == StopReason::ContextFull);
  // 2 prompt tokens + 3 fed-back tokens fill 5 positions; the 4th sampled token has no room.
  CHECK(r.res.generated_ids == std::vector<int32_t>{1, 2, 1, 2});
  CHECK(r.fed.size() == 5);
  CHECK(r.res.stop_detail.find("context full") != std::string::npos);
  CHECK(r.res.stop_detail.find("--ctx") != std::string::npos);
  CHECK_THROWS_AS(run(p, {1}, o, 2, {}, {0, 0, 0}), Error);  // prompt longer than the context
}

TEST_CASE("prompt logits from the batched prefill are returned row by row", "[generate]") {
  std::vector<std::string> p = {"<s>", "a", "b", "c"};
  GenerateOptions o;
  o.max_new_tokens = 1;
  o.keep_prompt_logits = true;
  Run r = run(p, {2}, o, 64, {}, {0, 3, 1});
  REQUIRE(r.res.prompt_logits.size() == 3 * 4);
  CHECK(r.res.prompt_logits[0 * 4 + 0] == 1.0f);
  CHECK(r.res.prompt_logits[1 * 4 + 3] == 1.0f);
  CHECK(r.res.prompt_logits[2 * 4 + 2] == 10.0f);  // the last row predicts the first new token
  CHECK(r.res.generated_ids == std::vector<int32_t>{2});
}

TEST_CASE("generation without a decoder yields ids only and refuses stop strings", "[generate]") {
  ScriptedModel model(4, 16, {1, 2, 3});
  Generator gen(model, TokenDecoder{}, {});
  Sampler sampler(greedy());
  GenerateOptions o;
  o.max_new_tokens = 3;
  const std::vector<int32_t> prompt = {0};
  auto res = gen.generate(prompt, sampler, o);
  CHECK(res.generated_ids == std::vector<int32_t>{1, 2, 3});
  CHECK(res.text.empty());
  o.stop = {"x"};
  CHECK_THROWS_AS(gen.generate(prompt, sampler, o), Error);
  CHECK_THROWS_AS(gen.generate(std::vector<int32_t>{}, sampler, GenerateOptions{}), Error);
}

TEST_CASE("incomplete_utf8_tail finds a character still waiting for bytes", "[generate]") {
  CHECK(incomplete_utf8_tail("") == 0);
  CHECK(incomplete_utf8_tail("abc") == 0);
  CHECK(incomplete_utf8_tail("a\xC3") == 1);
  CHECK(incomplete_utf8_tail("a\xC3\xA9") == 0);
  CHECK(incomplete_utf8_tail("\xE2\x82") == 2);
  CHECK(incomplete_utf8_tail("\xF0\x9F\x98") == 3);
  CHECK(incomplete_utf8_tail("\xF0\x9F\x98\x80") == 0);
  CHECK(incomplete_utf8_tail("\x80\x80") == 0);  // stray continuation bytes never complete: emit them
  CHECK(incomplete_utf8_tail("a\xFF") == 0);
}
