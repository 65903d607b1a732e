#include "runtime/generate.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "base/error.h"
#include "runtime/model.h"
#include "runtime/sampler.h"

namespace unicorn {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::EndOfGeneration: return "eog";
    case StopReason::StopString: return "stop_string";
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::ContextFull: return "context_full";
  }
  return "?";
}

uint64_t peak_rss_bytes() {
  struct rusage ru {};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux reports kilobytes
}

Generator::Generator(Model& model, TokenDecoder decode, std::vector<int32_t> eog_ids)
    : model_(model), decode_(std::move(decode)), eog_ids_(std::move(eog_ids)) {}

GenerateResult Generator::generate(std::span<const int32_t> prompt, Sampler& sampler, const GenerateOptions& opts,
                                   const TextSink& on_text) {
  const auto t_start = Clock::now();
  const ModelInfo& info = model_.info();
  const int vocab = info.vocab_size;
  const int ctx = info.ctx;
  if (prompt.empty()) fail("the prompt is empty: give some text or token ids");
  if (static_cast<int64_t>(prompt.size()) > ctx)
    fail("the prompt has ", prompt.size(), " tokens but the context holds ", ctx, "; raise --ctx");
  if (!decode_ && std::any_of(opts.stop.begin(), opts.stop.end(), [](const std::string& s) { return !s.empty(); }))
    fail("stop strings need a tokenizer, and this model has none");

  GenerateResult res;
  TextStream stream(opts.stop, on_text);
  for (int32_t t : prompt) sampler.accept(t);

  model_.reset();
  std::vector<float> logits;
  const int n_prompt = static_cast<int>(prompt.size());
  logits.resize(static_cast<size_t>(opts.keep_prompt_logits ? n_prompt : 1) * vocab);
  auto t0 = Clock::now();
  model_.forward(prompt, 0, logits.data(), opts.keep_prompt_logits);
  res.timings.prefill_ms = ms_since(t0);
  res.timings.prefill_tokens = n_prompt;
  std::span<const float> last_row(logits.data() + (opts.keep_prompt_logits ? static_cast<size_t>(n_prompt - 1) * vocab : 0),
                                  static_cast<size_t>(vocab));
  if (opts.keep_prompt_logits) res.prompt_logits = logits;

  int pos = n_prompt;
  res.stop_reason = StopReason::MaxTokens;
  res.stop_detail = str_cat("reached the limit of ", opts.max_new_tokens, " new tokens");
  while (opts.max_new_tokens < 0 || static_cast<int>(res.generated_ids.size()) < opts.max_new_tokens) {
    t0 = Clock::now();
    const int32_t token = sampler.sample(last_row);
    res.timings.sample_ms += ms_since(t0);
    sampler.accept(token);
    res.generated_ids.push_back(token);

    if (!opts.ignore_eog && std::find(eog_ids_.begin(), eog_ids_.end(), token) != eog_ids_.end()) {
      res.stop_reason = StopReason::EndOfGeneration;
      res.stop_detail = str_cat("end-of-generation token ", token);
      break;
    }
    if (decode_ && stream.push(decode_(token))) {
      res.stop_reason = StopReason::StopString;
      res.stop_detail = str_cat("stop string \"", stream.matched_stop(), "\"");
      break;
    }
    if (opts.max_new_tokens >= 0 && static_cast<int>(res.generated_ids.size()) >= opts.max_new_tokens) break;
    if (pos >= ctx) {
      res.stop_reason = StopReason::ContextFull;
      res.stop_detail = str_cat("context full: ", ctx, " tokens (", n_prompt, " prompt + ", res.generated_ids.size(),
                                " generated); raise --ctx for longer output");
      break;
    }
    const int32_t next[1] = {token};
    t0 = Clock::now();
    model_.forward(std::span<const int32_t>(next, 1), pos, logits.data(), false);
    res.timings.decode_ms += ms_since(t0);
    res.timings.decode_tokens += 1;
    last_row = std::span<const float>(logits.data(), static_cast<size_t>(vocab));
    ++pos;
  }
  stream.finish();
  res.text = stream.emitted();
  res.timings.total_ms = ms_since(t_start);
  return res;
}

}  // namespace unicorn
