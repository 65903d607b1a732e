#include "runtime/server/slot_generation.h"

#include <algorithm>
#include <chrono>

#include "base/error.h"
#include "runtime/model.h"
#include "runtime/text_stream.h"
#include "runtime/tokenizer.h"

namespace unicorn::server {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
  }
  return "?";
}

SlotResult run_slot_job(Model& model, const Tokenizer& tok, const SlotJob& job) {
  const ModelInfo& info = model.info();
  const int vocab = info.vocab_size;
  const int ctx = info.ctx;
  if (job.prompt.empty()) fail("the prompt is empty");
  if (static_cast<int64_t>(job.prompt.size()) > ctx)
    fail("the prompt has ", job.prompt.size(), " tokens but the context holds ", ctx);

  SlotResult res;
  res.prompt_tokens = static_cast<int>(job.prompt.size());
  bool delivered = true;
  TextStream stream(job.stop, [&](std::string_view s) {
    if (delivered && job.on_text && !job.on_text(s)) delivered = false;
  });
  Sampler sampler(job.sampling);
  for (int32_t t : job.prompt) sampler.accept(t);

  if (job.check) {  // a client that left while its request waited gets no prefill
    const FinishReason why = job.check();
    if (why != FinishReason::Stop) {
      res.finish = why;
      return res;
    }
  }
  model.reset();
  std::vector<float> logits(static_cast<size_t>(vocab));
  auto t0 = Clock::now();
  model.forward(job.prompt, 0, logits.data(), false);
  res.prefill_ms = ms_since(t0);

  int pos = res.prompt_tokens;
  res.finish = FinishReason::Length;
  while (job.max_tokens < 0 || res.completion_tokens < job.max_tokens) {
    const int32_t token = sampler.sample(logits);
    sampler.accept(token);
    ++res.completion_tokens;
    if (res.completion_tokens == 1 && job.on_first_token) job.on_first_token();
    if (std::find(job.eog_ids.begin(), job.eog_ids.end(), token) != job.eog_ids.end()) {
      res.finish = FinishReason::Stop;
      break;
    }
    if (stream.push(tok.decode_token(token))) {
      res.finish = FinishReason::Stop;
      break;
    }
    if (!delivered) {
      res.finish = FinishReason::Cancelled;
      break;
    }
    if (job.max_tokens >= 0 && res.completion_tokens >= job.max_tokens) break;
    if (pos >= ctx) break;  // context full: "length"
    if (job.check) {
      const FinishReason why = job.check();
      if (why != FinishReason::Stop) {
        res.finish = why;
        break;
      }
    }
    const int32_t next[1] = {token};
    t0 = Clock::now();
    model.forward(std::span<const int32_t>(next, 1), pos, logits.data(), false);
    res.decode_ms += ms_since(t0);
    ++res.decode_tokens;
    ++pos;
  }
  if (res.finish != FinishReason::Cancelled) stream.finish();
  res.text = stream.emitted();
  return res;
}

}  // namespace unicorn::server
