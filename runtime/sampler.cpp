#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "base/error.h"

namespace unicorn {

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

Sampler::Sampler(const SamplerOptions& opts) : opts_(opts), rng_(opts.seed) {
  if (!(opts_.repeat_penalty > 0.0f)) fail("repeat penalty must be > 0, got ", opts_.repeat_penalty);
  if (std::isnan(opts_.temp) || std::isnan(opts_.top_p) || std::isnan(opts_.min_p)) fail("sampler option is NaN");
}

void Sampler::accept(int32_t token) {
  if (opts_.repeat_last_n == 0) return;
  history_.push_back(token);
  if (opts_.repeat_last_n > 0 && history_.size() > static_cast<size_t>(opts_.repeat_last_n)) history_.pop_front();
}

void Sampler::reset() {
  history_.clear();
  rng_.seed(opts_.seed);
}

void Sampler::apply_penalty(std::span<const float> logits) {
  if (logits.empty()) fail("sampler: empty logits row");
  work_.assign(logits.begin(), logits.end());
  // NaN can never win; +inf is clamped so that differences against the maximum stay finite.
  for (float& l : work_) {
    if (std::isnan(l)) l = -std::numeric_limits<float>::infinity();
    if (l == std::numeric_limits<float>::infinity()) l = std::numeric_limits<float>::max();
  }
  if (opts_.repeat_penalty == 1.0f || history_.empty()) return;
  // Each distinct recent token is penalized once, however often it occurred (llama.cpp's repeat penalty):
  // positive logits are divided and negative ones multiplied, so the token always becomes less likely.
  std::unordered_set<int32_t> seen(history_.begin(), history_.end());
  for (int32_t t : seen) {
    if (t < 0 || static_cast<size_t>(t) >= work_.size()) continue;
    float& l = work_[t];
    l = l > 0.0f ? l / opts_.repeat_penalty : l * opts_.repeat_penalty;
  }
}

int32_t Sampler::argmax() const {
  // The first maximum wins, like torch.argmax, so greedy output matches reference implementations on ties.
  size_t best = 0;
  for (size_t i = 1; i < work_.size(); ++i)
    if (work_[i] > work_[best]) best = i;
  if (work_[best] == -std::numeric_limits<float>::infinity()) fail("sampler: every logit is -inf or NaN");
  return static_cast<int32_t>(best);
}

void Sampler::filter_and_normalize() {
  const size_t n = work_.size();
  candidates_.clear();
  if (greedy()) {
    candidates_.push_back({argmax(), 1.0f});
    return;
  }
  const auto higher = [](const TokenProb& a, const TokenProb& b) { return a.p > b.p || (a.p == b.p && a.id < b.id); };
  for (size_t i = 0; i < n; ++i)
    if (work_[i] != -std::numeric_limits<float>::infinity())
      candidates_.push_back({static_cast<int32_t>(i), work_[i]});
  if (candidates_.empty()) fail("sampler: every logit is -inf or NaN");

  // top-k: keep the k highest logits.
  if (opts_.top_k > 0 && static_cast<size_t>(opts_.top_k) < candidates_.size()) {
    std::nth_element(candidates_.begin(), candidates_.begin() + (opts_.top_k - 1), candidates_.end(), higher);
    candidates_.resize(opts_.top_k);
  }
  float max_logit = -std::numeric_limits<float>::infinity();
  for (const TokenProb& c : candidates_) max_logit = std::max(max_logit, c.p);

  // top-p needs the softmax (at temperature 1) over the top-k survivors, so the normalizer comes first.
  double z = 0.0;
  for (const TokenProb& c : candidates_) z += std::exp(static_cast<double>(c.p) - max_logit);

  // min-p keeps p >= min_p * p_max, i.e. logit >= max + log(min_p). Its survivors and top-p's are both
  // prefixes of the sorted list, so filtering by min-p before top-p keeps the same set as llama.cpp's order
  // (top-p then min-p) while sorting far fewer tokens.
  if (opts_.min_p > 0.0f) {
    const double threshold = max_logit + std::log(static_cast<double>(opts_.min_p));
    size_t kept = 0;
    for (const TokenProb& c : candidates_)
      if (c.p >= threshold) candidates_[kept++] = c;
    candidates_.resize(std::max<size_t>(kept, 1));
  }
  std::sort(candidates_.begin(), candidates_.end(), higher);

  if (opts_.top_p < 1.0f) {
    double cum = 0.0;
    size_t keep = candidates_.size();
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cum += std::exp(static_cast<double>(candidates_[i].p) - max_logit) / z;
      if (cum >= opts_.top_p) {
        keep = i + 1;
        break;
      }
    }
    candidates_.resize(keep);
  }

  // Temperature last: it reshapes the distribution among the survivors but not which tokens survive.
  const double inv_t = 1.0 / opts_.temp;
  double total = 0.0;
  std::vector<double> w(candidates_.size());
  for (size_t i = 0; i < candidates_.size(); ++i) {
    w[i] = std::exp((static_cast<double>(candidates_[i].p) - max_logit) * inv_t);
    total += w[i];
  }
  for (size_t i = 0; i < candidates_.size(); ++i) candidates_[i].p = static_cast<float>(w[i] / total);
}

std::vector<TokenProb> Sampler::distribution(std::span<const float> logits) {
  apply_penalty(logits);
  filter_and_normalize();
  return candidates_;
}

int32_t Sampler::sample(std::span<const float> logits) {
  apply_penalty(logits);
  if (greedy()) return argmax();
  filter_and_normalize();
  const double u = uniform01(rng_);
  double cum = 0.0;
  for (const TokenProb& c : candidates_) {
    cum += c.p;
    if (u < cum) return c.id;
  }
  return candidates_.back().id;  // u landed in the rounding gap of the float probabilities
}

}  // namespace unicorn
