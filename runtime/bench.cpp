#include "runtime/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>

#include "base/error.h"
#include "base/thread_pool.h"
#include "formats/model_source.h"
#include "runtime/model.h"

namespace unicorn {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Embedding tables a decode step reads one row of (unless the table is also the LM head).
bool is_lookup_table(const std::string& name) {
  return name == "per_layer_token_embd.weight" || ends_with(name, "embed_tokens_per_layer.weight");
}
bool is_token_embedding(const std::string& name) {
  return name == "token_embd.weight" || ends_with(name, "embed_tokens.weight");
}
bool is_lm_head(const std::string& name) { return name == "output.weight" || ends_with(name, "lm_head.weight"); }

}  // namespace

BenchStat make_bench_stat(std::vector<double> samples) {
  BenchStat s;
  s.samples = std::move(samples);
  if (s.samples.empty()) return s;
  s.mean = std::accumulate(s.samples.begin(), s.samples.end(), 0.0) / static_cast<double>(s.samples.size());
  if (s.samples.size() > 1) {
    double ss = 0;
    for (double x : s.samples) ss += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(ss / static_cast<double>(s.samples.size() - 1));
  }
  return s;
}

BenchResult run_bench(const BenchOptions& o) {
  if (o.prompt_tokens < 0 || o.gen_tokens < 0) throw Error("token counts must be >= 0", {o.model, "", ""});
  if (o.repetitions < 1) throw Error("repetitions must be >= 1", {o.model, "", ""});
  BenchResult r;
  r.model = o.model;
  {
    // Sizes from the file itself (the model below maps the same pages, so this costs no extra memory).
    auto src = open_model_source(o.model);
    bool has_head = false;
    for (const TensorView& t : src->tensors()) has_head |= is_lm_head(t.name);
    uint64_t all_bytes = 0;
    for (const TensorView& t : src->tensors()) {
      all_bytes += t.nbytes;
      r.parameters += static_cast<uint64_t>(t.elements());
      const bool one_row = is_lookup_table(t.name) || (is_token_embedding(t.name) && has_head);
      r.decode_bytes_per_token += one_row && t.rows() > 0 ? t.nbytes / static_cast<uint64_t>(t.rows()) : t.nbytes;
    }
    r.bits_per_weight = r.parameters > 0 ? 8.0 * static_cast<double>(all_bytes) / static_cast<double>(r.parameters) : 0;
    std::error_code ec;
    r.file_bytes = std::filesystem::is_regular_file(o.model, ec) ? std::filesystem::file_size(o.model, ec) : all_bytes;
  }

  ModelOptions mo;
  mo.threads = o.threads;
  mo.kv_f16 = o.kv_f16;
  mo.device = o.device;
  mo.gpu_layers = o.gpu_layers;
  mo.profile = o.profile;
  mo.time_gpu = true;  // where the time goes: 2 timestamps per submission
  mo.ctx = std::max({o.prompt_tokens, o.gen_tokens, 1});
  auto model = Model::load(o.model, mo);
  const ModelInfo& info = model->info();
  if (info.ctx < std::max(o.prompt_tokens, o.gen_tokens))
    throw Error(str_cat("the model's context (", info.ctx, ") is smaller than the test"), {o.model, "", "ctx"});
  r.arch = info.arch;
  r.device = info.device;
  r.placement = info.placement;
  r.gpu_layers = info.gpu_layers;
  r.weight_bytes = info.weight_bytes;
  r.threads = o.threads > 0 ? o.threads : physical_core_count();

  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> pick(0, info.vocab_size - 1);
  std::vector<int32_t> prompt(static_cast<size_t>(o.prompt_tokens));
  std::vector<float> logits(static_cast<size_t>(info.vocab_size));

  auto run_prefill = [&]() {
    for (int32_t& t : prompt) t = pick(rng);
    model->reset();
    const auto t0 = Clock::now();
    model->forward(prompt, 0, logits.data(), false);
    return o.prompt_tokens / seconds_since(t0);
  };
  auto run_decode = [&]() {
    model->reset();
    int32_t tok = pick(rng);
    const auto t0 = Clock::now();
    for (int i = 0; i < o.gen_tokens; ++i) {
      model->forward(std::span<const int32_t>(&tok, 1), i, logits.data(), false);
      tok = pick(rng);  // random like llama-bench: the speed must not depend on what the noise model predicts
    }
    return o.gen_tokens / seconds_since(t0);
  };

  std::vector<double> pp, tg, gbs;
  if (o.prompt_tokens > 0) {
    run_prefill();  // warm-up: page in the weights, size the scratch buffers
    const ForwardTimes before = model->forward_times();
    for (int i = 0; i < o.repetitions; ++i) pp.push_back(run_prefill());
    r.prefill_times = model->forward_times() - before;
  }
  if (o.gen_tokens > 0) {
    run_decode();
    const ForwardTimes before = model->forward_times();
    for (int i = 0; i < o.repetitions; ++i) {
      tg.push_back(run_decode());
      gbs.push_back(tg.back() * static_cast<double>(r.decode_bytes_per_token) / 1e9);
    }
    r.decode_times = model->forward_times() - before;
  }
  r.prefill_tok_s = make_bench_stat(std::move(pp));
  r.decode_tok_s = make_bench_stat(std::move(tg));
  r.decode_gb_s = make_bench_stat(std::move(gbs));
  r.profile = model->profile_report();
  return r;
}

namespace {

// Sum of 64-bit words, 8 independent accumulators of 32-byte vectors so loads stay in flight.
uint64_t sum_words(const uint64_t* p, size_t n) {
  typedef uint64_t v4 __attribute__((vector_size(32)));
  v4 acc[8] = {};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 8; ++k) {
      v4 x;
      std::memcpy(&x, p + i + 4 * k, sizeof x);
      acc[k] += x;
    }
  }
  uint64_t s = 0;
  for (int k = 0; k < 8; ++k) s += acc[k][0] + acc[k][1] + acc[k][2] + acc[k][3];
  for (; i < n; ++i) s += p[i];
  return s;
}

}  // namespace

MembwResult measure_memory_bandwidth(int threads, uint64_t buffer_bytes, int repetitions) {
  if (buffer_bytes < (uint64_t{1} << 20)) throw Error("membw buffer must be at least 1 MiB", {"", "", "membw"});
  MembwResult r;
  r.threads = threads > 0 ? threads : physical_core_count();
  const size_t words = static_cast<size_t>(buffer_bytes / 8);
  r.buffer_bytes = words * 8;
  std::unique_ptr<uint64_t[]> buf(new uint64_t[words]);
  ThreadPool pool(r.threads);
  // Each thread writes the slice it will read (first touch puts pages near that thread).
  pool.parallel_for(words, [&](int, size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;
  });
  std::vector<uint64_t> sums(static_cast<size_t>(r.threads));
  auto pass = [&]() {
    const auto t0 = Clock::now();
    pool.parallel_for(words, [&](int t, size_t b, size_t e) { sums[t] += sum_words(buf.get() + b, e - b); });
    return static_cast<double>(r.buffer_bytes) / seconds_since(t0) / 1e9;
  };
  pass();
  std::vector<double> gbs;
  for (int i = 0; i < std::max(1, repetitions); ++i) gbs.push_back(pass());
  // Use the sums so the reads cannot be optimized away.
  volatile uint64_t sink = std::accumulate(sums.begin(), sums.end(), uint64_t{0});
  (void)sink;
  r.gb_s = make_bench_stat(std::move(gbs));
  return r;
}

}  // namespace unicorn
