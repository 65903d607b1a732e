#include "runtime/server/openai_request.h"

#include <cmath>
#include <limits>

namespace unicorn::server {
namespace {

using nlohmann::json;

[[noreturn]] void bad_field(const std::string& param, const std::string& message) {
  throw ApiError{400, message, "invalid_request_error", param, ""};
}

// The field, or nullptr when absent or null (null means "not given" for optional fields).
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double number_in(const json& body, const char* name, double lo, double hi, double fallback) {
  const json* v = field(body, name);
  if (v == nullptr) return fallback;
  if (!v->is_number()) bad_field(name, std::string("'") + name + "' must be a number");
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    bad_field(name, std::string("'") + name + "' must be between " + json(lo).dump() + " and " + json(hi).dump());
  return x;
}

std::optional<int64_t> integer(const json& body, const char* name) {
  const json* v = field(body, name);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  bad_field(name, std::string("'") + name + "' must be an integer");
}

bool boolean(const json& body, const char* name) {
  const json* v = field(body, name);
  if (v == nullptr) return false;
  if (!v->is_boolean()) bad_field(name, std::string("'") + name + "' must be a boolean");
  return v->get<bool>();
}

json parse_object(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    throw ApiError{400, "We could not parse the JSON body of your request: it is not valid JSON.",
                   "invalid_request_error", "", "invalid_json"};
  if (!j.is_object())
    throw ApiError{400, "The request body must be a JSON object.", "invalid_request_error", "", "invalid_json"};
  return j;
}

// Fields both endpoints share.
void parse_common(const json& body, uint64_t default_seed, CompletionRequest& r) {
  if (const json* m = field(body, "model")) {
    if (!m->is_string()) bad_field("model", "'model' must be a string");
    r.model = m->get<std::string>();
  }
  if (auto n = integer(body, "n"); n && *n != 1) bad_field("n", "only n=1 is supported");

  // OpenAI's defaults: temperature 1, top_p 1; nothing else filters the distribution.
  r.sampling.temp = static_cast<float>(number_in(body, "temperature", 0.0, 2.0, 1.0));
  r.sampling.top_p = static_cast<float>(number_in(body, "top_p", 0.0, 1.0, 1.0));
  r.sampling.top_k = 0;
  r.sampling.min_p = 0.0f;
  r.sampling.repeat_penalty = 1.0f;
  r.sampling.repeat_last_n = 0;

  for (const char* name : {"max_completion_tokens", "max_tokens"}) {
    if (auto v = integer(body, name)) {
      if (*v < 1 || *v > std::numeric_limits<int>::max()) bad_field(name, std::string("'") + name + "' must be at least 1");
      r.max_tokens = static_cast<int>(*v);
      break;  // max_completion_tokens wins when both are sent (it replaces max_tokens in OpenAI's API)
    }
  }
  if (auto s = integer(body, "seed")) {
    r.sampling.seed = static_cast<uint64_t>(*s);
    r.seed_given = true;
  } else {
    r.sampling.seed = default_seed;
  }

  if (const json* s = field(body, "stop")) {
    if (s->is_string()) {
      r.stop.push_back(s->get<std::string>());
    } else if (s->is_array()) {
      if (s->size() > 4) bad_field("stop", "'stop' takes at most 4 sequences");
      for (const json& e : *s) {
        if (!e.is_string()) bad_field("stop", "'stop' must be a string or an array of strings");
        r.stop.push_back(e.get<std::string>());
      }
    } else {
      bad_field("stop", "'stop' must be a string or an array of strings");
    }
  }
  r.stream = boolean(body, "stream");
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) bad_field("stream_options", "'stream_options' must be an object");
    if (!r.stream) bad_field("stream_options", "'stream_options' is only allowed when 'stream' is true");
    auto it = so->find("include_usage");
    if (it != so->end() && !it->is_null()) {
      if (!it->is_boolean()) bad_field("stream_options.include_usage", "'include_usage' must be a boolean");
      r.include_usage = it->get<bool>();
    }
  }
  r.ignore_eos = boolean(body, "ignore_eos");
  if (boolean(body, "logprobs")) bad_field("logprobs", "logprobs are not supported by this server");
}

// Message content: a string, or an array of {"type":"text","text":...} parts joined together.
std::string message_text(const json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {
    std::string text;
    for (const json& part : content) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
        bad_field(param, "only text content parts ({\"type\": \"text\", \"text\": ...}) are supported");
      text += part["text"].get<std::string>();
    }
    return text;
  }
  bad_field(param, "message content must be a string or an array of text parts");
}

}  // namespace

nlohmann::json api_error_json(const ApiError& e) {
  json err = {{"message", e.message}, {"type", e.type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  return json{{"error", err}};
}

CompletionRequest parse_chat_request(const std::string& body_text, uint64_t default_seed) {
  const json body = parse_object(body_text);
  CompletionRequest r;
  r.chat = true;
  const json* msgs = field(body, "messages");
  if (msgs == nullptr) bad_field("messages", "'messages' is required");
  if (!msgs->is_array() || msgs->empty()) bad_field("messages", "'messages' must be a non-empty array");
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) bad_field(at, "each message must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) bad_field(at + ".role", "each message needs a string 'role'");
    std::string r_name = role->get<std::string>();
    if (r_name == "developer") r_name = "system";  // OpenAI's newer name for the system role
    if (r_name != "system" && r_name != "user" && r_name != "assistant")
      bad_field(at + ".role", "role must be system, user or assistant, not '" + role->get<std::string>() + "'");
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) bad_field(at + ".content", "each message needs 'content'");
    r.messages.push_back({r_name, message_text(*content, at + ".content")});
  }
  parse_common(body, default_seed, r);
  return r;
}

CompletionRequest parse_completion_request(const std::string& body_text, uint64_t default_seed) {
  const json body = parse_object(body_text);
  CompletionRequest r;
  const json* p = field(body, "prompt");
  if (p == nullptr) bad_field("prompt", "'prompt' is required");
  auto ids_from = [&](const json& arr) {
    std::vector<int32_t> ids;
    for (const json& e : arr) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > std::numeric_limits<int32_t>::max())
        bad_field("prompt", "a token-id prompt must be an array of non-negative integers");
      ids.push_back(static_cast<int32_t>(e.get<int64_t>()));
    }
    return ids;
  };
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    r.prompt = (*p)[0].get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_array()) {
    r.prompt_ids = ids_from((*p)[0]);
  } else if (p->is_array() && !p->empty() && (*p)[0].is_number()) {
    r.prompt_ids = ids_from(*p);
  } else {
    bad_field("prompt", "'prompt' must be a string, an array of one string, or an array of token ids "
                        "(several prompts in one request are not supported)");
  }
  if (r.prompt.empty() && r.prompt_ids.empty()) bad_field("prompt", "'prompt' is empty");
  if (boolean(body, "echo")) bad_field("echo", "echo is not supported by this server");
  if (const json* s = field(body, "suffix"); s != nullptr) bad_field("suffix", "suffix is not supported by this server");
  parse_common(body, default_seed, r);
  return r;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  // Compare over the longer length so the time does not reveal where the first difference is.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace unicorn::server
