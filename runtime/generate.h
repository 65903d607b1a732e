#pragma once
// Prefill + token-by-token decode of one prompt with a Model and a Sampler, streaming text as it is produced.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "runtime/text_stream.h"

namespace unicorn {

class Model;
class Sampler;

// Raw bytes of one token (what the tokenizer's decode_token gives).
using TokenDecoder = std::function<std::string(int32_t)>;

struct GenerateOptions {
  int max_new_tokens = -1;            // < 0: until an end-of-generation token, a stop string or a full context
  std::vector<std::string> stop;      // stop strings (matched on the decoded text, across token boundaries)
  bool ignore_eog = false;            // keep going past end-of-generation tokens
  bool keep_prompt_logits = false;    // return the logits of every prompt position from the batched prefill
};

enum class StopReason { EndOfGeneration, StopString, MaxTokens, ContextFull };
const char* stop_reason_name(StopReason r);  // "eog", "stop_string", "max_tokens", "context_full"

struct GenerateTimings {
  int prefill_tokens = 0;
  double prefill_ms = 0;   // the batched forward of the prompt
  int decode_tokens = 0;   // single-token forwards after the prefill
  double decode_ms = 0;    // those forwards
  double sample_ms = 0;    // every sampler call
  double total_ms = 0;     // wall time of generate()
  double prefill_tok_s() const { return prefill_ms > 0 ? prefill_tokens * 1000.0 / prefill_ms : 0.0; }
  double decode_tok_s() const { return decode_ms > 0 ? decode_tokens * 1000.0 / decode_ms : 0.0; }
};

struct GenerateResult {
  std::vector<int32_t> generated_ids;  // every sampled token, an end-of-generation token included
  std::string text;                    // the text shown: stop string and what followed it left out
  StopReason stop_reason = StopReason::MaxTokens;
  std::string stop_detail;             // one line saying why generation ended (the context size when it was full)
  GenerateTimings timings;
  std::vector<float> prompt_logits;    // [n_prompt, vocab] row-major when keep_prompt_logits
};

// Generator: borrows the model (not thread-safe, like Model) and keeps no state between generate() calls other
// than the model's KV cache, which generate() resets. Cost: one batched forward of the prompt, one forward per
// further token, and one sampler call per token.
class Generator {
 public:
  // decode may be empty when there is no tokenizer (ids only: no text, no stop strings).
  Generator(Model& model, TokenDecoder decode, std::vector<int32_t> eog_ids);

  // Prompt tokens are given to the sampler's history (repetition penalty) before sampling starts.
  // on_text receives the text as it becomes safe to show (whole UTF-8 characters, no stop-string prefixes).
  // Throws Error for an empty prompt, a prompt longer than the context, or a stop string without a decoder.
  GenerateResult generate(std::span<const int32_t> prompt, Sampler& sampler, const GenerateOptions& opts,
                          const TextSink& on_text = {});

 private:
  Model& model_;
  TokenDecoder decode_;
  std::vector<int32_t> eog_ids_;
};

// Peak resident set size of this process in bytes (getrusage), 0 when unknown.
uint64_t peak_rss_bytes();

}  // namespace unicorn
