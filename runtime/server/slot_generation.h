#pragma once
// One request's generation on a slot's model, token by token, with a check before every forward so a request
// whose client left, whose time ran out, or that the server is shutting down stops within one token.
// (Generator has no per-token hook; this loop follows its steps: prefill, sample, stop checks, decode.)
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/sampler.h"

namespace unicorn {
class Model;
class Tokenizer;
}  // namespace unicorn

namespace unicorn::server {

enum class FinishReason { Stop, Length, Cancelled };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled"

struct SlotJob {
  std::span<const int32_t> prompt;
  SamplerOptions sampling;
  int max_tokens = -1;                 // < 0: until end of generation or a full context
  std::vector<std::string> stop;
  std::vector<int32_t> eog_ids;
  // Receives text as it becomes safe to show; returns false when it could not be delivered (client gone).
  std::function<bool(std::string_view)> on_text;
  // Asked before the prefill and before every forward after it; returns why to stop early (Length: time limit,
  // Cancelled: client gone or shutdown) or Stop to go on. A client that leaves costs at most the forward running.
  std::function<FinishReason()> check;
  std::function<void()> on_first_token;  // right after the first token is sampled (time to first token)
};

struct SlotResult {
  int prompt_tokens = 0;
  int completion_tokens = 0;  // sampled tokens, an end-of-generation token included
  FinishReason finish = FinishReason::Length;
  std::string text;           // everything given to on_text
  double prefill_ms = 0;
  double decode_ms = 0;
  int decode_tokens = 0;
};

// Throws Error for an empty prompt or one longer than the model's context (callers check that first).
SlotResult run_slot_job(Model& model, const Tokenizer& tok, const SlotJob& job);

}  // namespace unicorn::server
