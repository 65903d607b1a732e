// Validation perplexity of the trained Shakespeare models, by the method of shared/tools/train_tiny.py (implemented
// in runtime/perplexity.h), must equal the value transformers computed (ref.json val_ppl). Long-running
// (2 x 170 windows of 256 tokens): hidden tag, run with `test_runtime "[ppl]"`. The fast tests below check the
// windowing and the KL/top-1 arithmetic against an independent computation on a few windows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <unistd.h>

#include "runtime/model.h"
#include "runtime/perplexity.h"
#include "runtime/tokenizer.h"
#include "tests/test_util.h"

namespace {

std::string validation_text() {
  const std::string corpus_path = unicorn::test::shared_path("corpus/tinyshakespeare.txt");
  if (corpus_path.empty()) return {};
  std::ifstream cf(corpus_path, std::ios::binary);
  const std::string corpus((std::istreambuf_iterator<char>(cf)), std::istreambuf_iterator<char>());
  // Character offsets are byte offsets only for ASCII text.
  REQUIRE(std::all_of(corpus.begin(), corpus.end(), [](char ch) { return static_cast<unsigned char>(ch) < 128; }));
  return corpus.substr(corpus.size() * 9 / 10);  // int(len * 0.9) = 1,003,854, as the trainer cut it
}

// Mean NLL of windows scored independently of runtime/perplexity.cpp (BOS + ctx - 1 tokens every ctx - 1 tokens).
double reference_nll(unicorn::Model& model, const std::vector<int32_t>& ids, int ctx, int windows, int64_t* scored) {
  const int vocab = model.info().vocab_size;
  std::vector<float> logits(static_cast<size_t>(ctx) * vocab);
  std::vector<int32_t> window(ctx);
  double nll = 0;
  *scored = 0;
  int w = 0;
  for (size_t i = 0; i + ctx - 1 <= ids.size() && (windows == 0 || w < windows); i += ctx - 1, ++w) {
    window[0] = model.info().bos_id;
    std::copy(ids.begin() + i, ids.begin() + i + ctx - 1, window.begin() + 1);
    model.reset();
    model.forward(window, 0, logits.data(), true);
    for (int t = 0; t + 1 < ctx; ++t) {
      const float* row = logits.data() + static_cast<size_t>(t) * vocab;
      double mx = row[0];
      for (int v = 1; v < vocab; ++v) mx = std::max(mx, double(row[v]));
      double sum = 0;
      for (int v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - mx);
      // The log-probability rounded to float, as compute_perplexity stores it (so 1e-9 agreement is meaningful
      // whatever SIMD target produced the logits).
      nll -= static_cast<double>(static_cast<float>(double(row[window[t + 1]]) - (mx + std::log(sum))));
      ++*scored;
    }
  }
  return nll / static_cast<double>(*scored);
}

}  // namespace

TEST_CASE("shakespeare models reproduce HF validation perplexity", "[.][ppl]") {
  const std::string val = validation_text();
  if (val.empty()) UNICORN_SKIP("../shared/corpus/tinyshakespeare.txt is absent");
  for (const char* name : {"shakespeare-llama", "shakespeare-gemma3"}) {
    const std::string dir = unicorn::test::shared_path(std::string("models/") + name);
    if (dir.empty()) {
      WARN("SKIPPED: ../shared/models/" << name << " is absent");
      continue;
    }
    INFO(name);
    const auto ref = nlohmann::json::parse(std::ifstream(dir + "/ref.json"));
    unicorn::ModelOptions opts;
    opts.ctx = 256;
    auto model = unicorn::Model::load(dir, opts);
    auto tok = unicorn::Tokenizer::load(dir);
    const std::vector<int32_t> ids = tok->encode(val, /*add_bos=*/false, /*parse_special=*/false);
    unicorn::PerplexityOptions po;
    po.ctx = ref["val_ctx"].get<int>();
    const auto r = unicorn::compute_perplexity(*model, ids, model->info().bos_id, po);
    WARN(name << ": perplexity " << r.ppl << " over " << r.scored << " tokens (HF: " << ref["val_ppl"].get<double>() << ")");
    CHECK(r.scored == ref["val_tokens_scored"].get<int64_t>());
    CHECK(r.ppl == Approx(ref["val_ppl"].get<double>()).epsilon(1e-4));
  }
}

TEST_CASE("perplexity windows, saved logits and KL divergence on a few shakespeare-llama windows", "[runtime][ppl_fast]") {
  const std::string val = validation_text();
  if (val.empty()) UNICORN_SKIP("../shared/corpus/tinyshakespeare.txt is absent");
  const std::string dir = unicorn::test::shared_path("models/shakespeare-llama");
  if (dir.empty()) UNICORN_SKIP("../shared/models/shakespeare-llama is absent");
  unicorn::ModelOptions opts;
  opts.ctx = 64;
  auto model = unicorn::Model::load(dir, opts);
  auto tok = unicorn::Tokenizer::load(dir);
  const std::vector<int32_t> ids = tok->encode(val.substr(0, 4000), false, false);
  const int ctx = 64, windows = 3;

  int64_t ref_scored = 0;
  const double ref_nll = reference_nll(*model, ids, ctx, windows, &ref_scored);
  const std::string logits_path = (std::filesystem::temp_directory_path() /
                                   ("unicorn_ppl_" + std::to_string(::getpid()) + ".logp")).string();
  unicorn::PerplexityOptions po;
  po.ctx = ctx;
  po.max_windows = windows;
  po.save_logits = logits_path;
  const auto r = unicorn::compute_perplexity(*model, ids, model->info().bos_id, po);
  CHECK(r.windows == windows);
  CHECK(r.scored == ref_scored);
  CHECK(r.scored == windows * (ctx - 1));
  CHECK(r.nll == Approx(ref_nll).epsilon(1e-9));
  CHECK(r.ppl == Approx(std::exp(ref_nll)).epsilon(1e-9));

  // The model against its own saved log-probabilities: KL 0, full agreement, base perplexity equal.
  po.save_logits.clear();
  po.kl_base = logits_path;
  const auto self = unicorn::compute_perplexity(*model, ids, model->info().bos_id, po);
  CHECK(self.has_kl);
  CHECK(self.kl_mean == Approx(0.0).margin(1e-6));
  CHECK(self.top1_agreement == 1.0);
  CHECK(self.base_ppl == Approx(r.ppl).epsilon(1e-6));
  CHECK(unicorn::read_logits_file_tokens(logits_path) == ids);

  // Overlapping windows (stride 32) score each token once: the first window fully, then 32 new tokens each.
  unicorn::PerplexityOptions ov;
  ov.ctx = ctx;
  ov.stride = 32;
  ov.max_windows = 4;
  const auto o = unicorn::compute_perplexity(*model, ids, model->info().bos_id, ov);
  CHECK(o.scored == (ctx - 1) + 3 * 32);

  // A different windowing does not match the saved file.
  ov.kl_base = logits_path;
  CHECK_THROWS_WITH(unicorn::compute_perplexity(*model, ids, model->info().bos_id, ov),
                    Catch::Contains("does not match"));
  std::filesystem::remove(logits_path);
}
