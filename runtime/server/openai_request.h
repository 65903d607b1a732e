#pragma once
// OpenAI-style request bodies (/v1/chat/completions, /v1/completions) parsed and validated into one plain struct,
// and the error shape OpenAI answers with. No HTTP here: the server glue maps ApiError to a status and a body.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/chat_template.h"
#include "runtime/sampler.h"

namespace unicorn::server {

// An answer other than success, in OpenAI's shape {"error": {"message", "type", "param", "code"}}.
// Value type; status is the HTTP status it goes out with.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty -> null
  std::string code;   // empty -> null
};

nlohmann::json api_error_json(const ApiError& e);

// A validated completion request. Sampling follows OpenAI's meaning: temperature and top_p only (top-k, min-p and
// the repetition penalty are off), temperature 0 is greedy.
struct CompletionRequest {
  bool chat = false;
  std::vector<ChatMessage> messages;   // chat
  std::string prompt;                  // completions, text prompt
  std::vector<int32_t> prompt_ids;     // completions, when the prompt was given as token ids
  std::string model;                   // as sent (not checked against the served model, as llama.cpp does)
  int max_tokens = -1;                 // -1: until end of generation or a full context
  SamplerOptions sampling;
  bool seed_given = false;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;          // stream_options.include_usage
  bool ignore_eos = false;             // llama.cpp's extension: keep going past end-of-generation tokens
};

// Parse and validate a request body. Throws ApiError (status 400, param naming the field) for malformed JSON,
// a wrong type, a value out of range, n != 1, or a missing required field. Unknown fields are ignored, as
// OpenAI-compatible servers do for options they do not implement. default_seed is used when no seed is sent.
CompletionRequest parse_chat_request(const std::string& body, uint64_t default_seed);
CompletionRequest parse_completion_request(const std::string& body, uint64_t default_seed);

// Constant-time comparison (time depends only on the lengths) for API keys.
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace unicorn::server
