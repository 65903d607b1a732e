#pragma once
// Picks the next token from a row of logits: repetition penalty, top-k, top-p, min-p, temperature, then a
// seeded draw (or argmax at temperature 0), in the order llama.cpp's default sampler chain applies them.
#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace unicorn {

struct SamplerOptions {
  float temp = 0.8f;            // <= 0: greedy (argmax after the repetition penalty)
  int top_k = 40;               // <= 0 or >= vocab: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; > 1 discourages tokens seen in the last repeat_last_n tokens
  int repeat_last_n = 64;       // window of the repetition penalty (0: off, -1: whole history)
  uint64_t seed = 0;
};

// One candidate of the final distribution: a token and the probability sample() draws it with.
struct TokenProb {
  int32_t id = 0;
  float p = 0.0f;
};

// Sampler: owns its RNG and the token history of the repetition penalty; not thread-safe. sample() costs
// O(vocab) plus a sort of the candidates that survive top-k/min-p; it reuses its buffers between calls.
class Sampler {
 public:
  explicit Sampler(const SamplerOptions& opts);

  const SamplerOptions& options() const { return opts_; }
  bool greedy() const { return opts_.temp <= 0.0f; }

  // Records a token (prompt or generated) for the repetition penalty.
  void accept(int32_t token);
  // Forgets the history and reseeds the RNG with the configured seed.
  void reset();

  // Draws the next token. Logits are not modified. Throws Error on an empty row or when every logit is NaN/-inf.
  int32_t sample(std::span<const float> logits);

  // The distribution sample() draws from for these logits and the current history, sorted by probability
  // (highest first, ties by lower id); one entry with p = 1 when greedy. For tests and diagnostics.
  std::vector<TokenProb> distribution(std::span<const float> logits);

 private:
  void apply_penalty(std::span<const float> logits);
  void filter_and_normalize();  // fills candidates_ from work_ (top-k, top-p, min-p, temperature softmax)
  int32_t argmax() const;

  SamplerOptions opts_;
  std::mt19937_64 rng_;
  std::deque<int32_t> history_;
  std::vector<float> work_;           // penalized logits
  std::vector<TokenProb> candidates_; // p holds the logit until normalized
};

// A double in [0, 1) from 53 random bits; defined here so a seed gives the same draws with any standard library.
double uniform01(std::mt19937_64& rng);

}  // namespace unicorn
