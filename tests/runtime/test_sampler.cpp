// Sampler: each option checked on hand-made logits, with fixed seeds and frequency checks over many draws.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "base/error.h"
#include "runtime/sampler.h"
#include "tests/test_util.h"

using namespace unicorn;

namespace {

SamplerOptions plain(float temp) {
  SamplerOptions o;
  o.temp = temp;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.repeat_penalty = 1.0f;
  o.seed = 1234;
  return o;
}

std::vector<double> softmax(const std::vector<float>& logits, const std::set<int>& keep, double temp) {
  double mx = -1e30;
  for (int i : keep) mx = std::max<double>(mx, logits[i]);
  std::vector<double> p(logits.size(), 0.0);
  double z = 0;
  for (int i : keep) z += (p[i] = std::exp((logits[i] - mx) / temp));
  for (double& x : p) x /= z;
  return p;
}

// Draws n tokens and checks every frequency against the expected probability within 5 standard deviations
// (plus a small absolute slack), and that nothing outside the support is drawn.
void check_frequencies(Sampler& s, const std::vector<float>& logits, const std::vector<double>& expected, int n) {
  std::vector<int> count(logits.size(), 0);
  for (int i = 0; i < n; ++i) {
    const int t = s.sample(logits);
    REQUIRE(t >= 0);
    REQUIRE(t < static_cast<int>(logits.size()));
    ++count[t];
  }
  for (size_t i = 0; i < logits.size(); ++i) {
    const double f = static_cast<double>(count[i]) / n;
    const double sd = std::sqrt(expected[i] * (1 - expected[i]) / n);
    INFO("token " << i << " freq " << f << " expected " << expected[i]);
    if (expected[i] == 0.0) {
      CHECK(count[i] == 0);
    } else {
      CHECK(std::abs(f - expected[i]) <= 5 * sd + 1e-3);
    }
  }
}

std::set<int> ids_of(const std::vector<TokenProb>& d) {
  std::set<int> s;
  for (const TokenProb& t : d) s.insert(t.id);
  return s;
}

const std::vector<float> kLogits = {1.0f, 3.0f, -0.5f, 2.2f, 0.1f, 2.9f, -3.0f, 1.7f};

}  // namespace

TEST_CASE("greedy picks the first maximum and ignores the seed", "[sampler]") {
  Sampler a(plain(0.0f));
  CHECK(a.sample(kLogits) == 1);
  std::vector<float> tie = {0.5f, 2.0f, 2.0f, -1.0f};
  CHECK(a.sample(tie) == 1);
  auto d = a.distribution(tie);
  REQUIRE(d.size() == 1);
  CHECK(d[0].id == 1);
  CHECK(d[0].p == 1.0f);
  std::vector<float> with_nan = {NAN, 0.0f, 1.0f};
  CHECK(a.sample(with_nan) == 2);
}

TEST_CASE("temperature 1 samples the softmax", "[sampler]") {
  Sampler s(plain(1.0f));
  std::set<int> all;
  for (int i = 0; i < 8; ++i) all.insert(i);
  check_frequencies(s, kLogits, softmax(kLogits, all, 1.0), 20000);
}

TEST_CASE("temperature sharpens and flattens", "[sampler]") {
  std::set<int> all;
  for (int i = 0; i < 8; ++i) all.insert(i);
  for (float t : {0.5f, 2.0f}) {
    Sampler s(plain(t));
    auto expected = softmax(kLogits, all, t);
    auto d = s.distribution(kLogits);
    REQUIRE(d.size() == 8);
    for (const TokenProb& tp : d) CHECK(tp.p == Approx(expected[tp.id]).epsilon(1e-5));
    check_frequencies(s, kLogits, expected, 20000);
  }
}

TEST_CASE("top-k never yields outside the k best and renormalizes", "[sampler]") {
  SamplerOptions o = plain(1.0f);
  o.top_k = 3;
  Sampler s(o);
  const std::set<int> top3 = {1, 5, 3};  // logits 3.0, 2.9, 2.2
  CHECK(ids_of(s.distribution(kLogits)) == top3);
  check_frequencies(s, kLogits, softmax(kLogits, top3, 1.0), 20000);

  o.top_k = 1;  // top-k 1 is greedy whatever the temperature
  Sampler one(o);
  for (int i = 0; i < 100; ++i) CHECK(one.sample(kLogits) == 1);
}

TEST_CASE("top-p keeps the smallest prefix whose mass reaches p", "[sampler]") {
  // Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (as logits: their logs).
  const std::vector<float> logits = {std::log(0.125f), std::log(0.5f), std::log(0.0625f), std::log(0.25f),
                                     std::log(0.0625f)};
  SamplerOptions o = plain(1.0f);
  auto kept = [&](float p) {
    o.top_p = p;
    Sampler s(o);
    return ids_of(s.distribution(logits));
  };
  CHECK(kept(0.49f) == std::set<int>{1});
  CHECK(kept(0.51f) == std::set<int>{1, 3});
  CHECK(kept(0.74f) == std::set<int>{1, 3});
  CHECK(kept(0.76f) == std::set<int>{1, 3, 0});
  CHECK(kept(0.9f) == std::set<int>{1, 3, 0, 2});   // tie at 0.0625: the lower id comes first
  CHECK(kept(0.99f) == std::set<int>{0, 1, 2, 3, 4});
  o.top_p = 0.76f;
  Sampler s(o);
  check_frequencies(s, logits, softmax(logits, {1, 3, 0}, 1.0), 20000);
}

TEST_CASE("top-p mass is measured after top-k", "[sampler]") {
  // After top-k 2 of {0.4, 0.3, 0.2, 0.1} the renormalized masses are 4/7 and 3/7, so p = 0.56 keeps one token
  // and p = 0.58 keeps two (measured over the whole vocabulary, 0.56 would keep two).
  const std::vector<float> logits = {std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
  SamplerOptions o = plain(1.0f);
  o.top_k = 2;
  o.top_p = 0.56f;
  CHECK(ids_of(Sampler(o).distribution(logits)) == std::set<int>{0});
  o.top_p = 0.58f;
  CHECK(ids_of(Sampler(o).distribution(logits)) == std::set<int>{0, 1});
}

TEST_CASE("min-p keeps tokens with p >= min_p * p_max", "[sampler]") {
  const std::vector<float> logits = {std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
  SamplerOptions o = plain(1.0f);
  auto kept = [&](float m) {
    o.min_p = m;
    Sampler s(o);
    return ids_of(s.distribution(logits));
  };
  CHECK(kept(0.24f) == std::set<int>{0, 1, 2, 3});  // 0.1 >= 0.096
  CHECK(kept(0.26f) == std::set<int>{0, 1, 2});     // 0.1 <  0.104
  CHECK(kept(0.49f) == std::set<int>{0, 1, 2});
  CHECK(kept(0.51f) == std::set<int>{0, 1});
  CHECK(kept(0.99f) == std::set<int>{0});
  o.min_p = 0.26f;
  o.temp = 0.7f;
  Sampler s(o);
  check_frequencies(s, logits, softmax(logits, {0, 1, 2}, 0.7), 20000);
}

TEST_CASE("filters combine: top-k, top-p and min-p keep the intersection, temperature applies last", "[sampler]") {
  // Top 5 of kLogits: ids 1, 5, 3, 7, 0 (logits 3.0, 2.9, 2.2, 1.7, 1.0). Their softmax at T=1 has cumulative
  // mass 0.362, 0.690, 0.852, 0.951, 1.0. min-p 0.3 keeps logits >= 3.0 + ln 0.3 = 1.796: ids 1, 5, 3.
  SamplerOptions o = plain(1.5f);
  o.top_k = 5;
  o.min_p = 0.1f;  // threshold 0.697: keeps all of the top 5
  o.top_p = 0.96f;
  CHECK(ids_of(Sampler(o).distribution(kLogits)) == std::set<int>{1, 5, 3, 7, 0});
  o.top_p = 0.9f;
  const std::set<int> four = {1, 5, 3, 7};
  Sampler s(o);
  CHECK(ids_of(s.distribution(kLogits)) == four);
  check_frequencies(s, kLogits, softmax(kLogits, four, 1.5), 20000);
  o.top_p = 0.8f;
  CHECK(ids_of(Sampler(o).distribution(kLogits)) == std::set<int>{1, 5, 3});
  o.top_p = 0.9f;
  o.min_p = 0.3f;
  CHECK(ids_of(Sampler(o).distribution(kLogits)) == std::set<int>{1, 5, 3});
  o.top_k = 2;  // top-k is the tightest now
  CHECK(ids_of(Sampler(o).distribution(kLogits)) == std::set<int>{1, 5});
}

TEST_CASE("repetition penalty divides positive and multiplies negative logits of recent tokens", "[sampler]") {
  SamplerOptions o = plain(1.0f);
  o.repeat_penalty = 2.0f;
  o.repeat_last_n = 2;
  Sampler s(o);
  const std::vector<float> logits = {2.0f, -1.0f, 1.0f, 0.0f};
  s.accept(0);
  s.accept(1);
  s.accept(1);  // repeated: penalized once, not twice
  // History window 2 holds {1, 1}: only token 1 is penalized (-1 -> -2); token 0 fell out of the window.
  std::vector<float> expect_logits = {2.0f, -2.0f, 1.0f, 0.0f};
  auto expected = softmax(expect_logits, {0, 1, 2, 3}, 1.0);
  for (const TokenProb& tp : s.distribution(logits)) CHECK(tp.p == Approx(expected[tp.id]).epsilon(1e-5));
  s.accept(0);  // window {1, 0}: token 0 now 2 -> 1, so tokens 0 and 2 tie
  expect_logits = {1.0f, -2.0f, 1.0f, 0.0f};
  expected = softmax(expect_logits, {0, 1, 2, 3}, 1.0);
  for (const TokenProb& tp : s.distribution(logits)) CHECK(tp.p == Approx(expected[tp.id]).epsilon(1e-5));
  check_frequencies(s, logits, expected, 20000);

  // Greedy sees the penalty too: 2.0 / 2 = 1.0 ties with token 2 -> first maximum (0); a bigger penalty flips it.
  o.temp = 0.0f;
  o.repeat_penalty = 3.0f;
  Sampler g(o);
  g.accept(0);
  CHECK(g.sample(logits) == 2);
}

TEST_CASE("same seed gives the same draws, another seed other draws", "[sampler]") {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(i * 0.37) * 3.0);
  SamplerOptions o;  // the defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05
  o.seed = 42;
  auto run = [&](uint64_t seed) {
    o.seed = seed;
    Sampler s(o);
    std::vector<int> out;
    for (int i = 0; i < 200; ++i) out.push_back(s.sample(logits));
    return out;
  };
  CHECK(run(42) == run(42));
  CHECK(run(42) != run(43));
  Sampler s(o);
  std::vector<int> first;
  for (int i = 0; i < 50; ++i) first.push_back(s.sample(logits));
  s.reset();
  std::vector<int> again;
  for (int i = 0; i < 50; ++i) again.push_back(s.sample(logits));
  CHECK(first == again);
}

TEST_CASE("bad sampler input is a clear error", "[sampler]") {
  Sampler s(plain(1.0f));
  std::vector<float> empty;
  CHECK_THROWS_AS(s.sample(empty), Error);
  std::vector<float> dead = {-INFINITY, NAN};
  CHECK_THROWS_AS(s.sample(dead), Error);
  SamplerOptions o = plain(1.0f);
  o.repeat_penalty = 0.0f;
  CHECK_THROWS_AS(Sampler(o), Error);
}
