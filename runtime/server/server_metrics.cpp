#include "runtime/server/server_metrics.h"

#include <cstdio>

namespace unicorn::server {
namespace {

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

void metric(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += " ";
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " ";
  out += type;
  out += "\n";
}

}  // namespace

void ServerMetrics::count_request(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_by_status_[status];
}

void ServerMetrics::add_generation(int prompt_tokens, double prefill_ms, int completion_tokens, int decode_tokens,
                                   double decode_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += static_cast<uint64_t>(prompt_tokens);
  completion_tokens_ += static_cast<uint64_t>(completion_tokens);
  prefill_tokens_ += static_cast<uint64_t>(prompt_tokens);
  prefill_s_ += prefill_ms / 1000.0;
  decode_tokens_ += static_cast<uint64_t>(decode_tokens);
  decode_s_ += decode_ms / 1000.0;
}

void ServerMetrics::observe_ttft(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = 0;
  while (i < kTtftBuckets.size() && seconds > kTtftBuckets[i]) ++i;
  if (i < kTtftBuckets.size()) ++ttft_counts_[i];
  ++ttft_count_;
  ttft_sum_ += seconds;
}

void ServerMetrics::count_disconnect() {
  std::lock_guard<std::mutex> lock(mu_);
  ++disconnects_;
}

void ServerMetrics::count_timeout() {
  std::lock_guard<std::mutex> lock(mu_);
  ++timeouts_;
}

std::string ServerMetrics::prometheus(int queue_depth, int busy, int slots, bool ready) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string o;
  metric(o, "unicorn_requests_total", "counter", "HTTP requests answered, by status code.");
  for (const auto& [status, n] : requests_by_status_)
    o += "unicorn_requests_total{status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  metric(o, "unicorn_prompt_tokens_total", "counter", "Prompt tokens processed (tokens in).");
  o += "unicorn_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  metric(o, "unicorn_completion_tokens_total", "counter", "Tokens generated (tokens out).");
  o += "unicorn_completion_tokens_total " + std::to_string(completion_tokens_) + "\n";
  metric(o, "unicorn_prefill_seconds_total", "counter", "Time spent in prompt prefill.");
  o += "unicorn_prefill_seconds_total " + num(prefill_s_) + "\n";
  metric(o, "unicorn_decode_seconds_total", "counter", "Time spent in single-token decode forwards.");
  o += "unicorn_decode_seconds_total " + num(decode_s_) + "\n";
  metric(o, "unicorn_prefill_tokens_per_second", "gauge", "Prompt tokens per second of prefill, over all requests.");
  o += "unicorn_prefill_tokens_per_second " + num(prefill_s_ > 0 ? prefill_tokens_ / prefill_s_ : 0.0) + "\n";
  metric(o, "unicorn_decode_tokens_per_second", "gauge", "Decoded tokens per second of decode, over all requests.");
  o += "unicorn_decode_tokens_per_second " + num(decode_s_ > 0 ? decode_tokens_ / decode_s_ : 0.0) + "\n";
  metric(o, "unicorn_time_to_first_token_seconds", "histogram", "From request arrival to the first sampled token.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kTtftBuckets.size(); ++i) {
    cumulative += ttft_counts_[i];
    o += "unicorn_time_to_first_token_seconds_bucket{le=\"" + num(kTtftBuckets[i]) + "\"} " +
         std::to_string(cumulative) + "\n";
  }
  o += "unicorn_time_to_first_token_seconds_bucket{le=\"+Inf\"} " + std::to_string(ttft_count_) + "\n";
  o += "unicorn_time_to_first_token_seconds_sum " + num(ttft_sum_) + "\n";
  o += "unicorn_time_to_first_token_seconds_count " + std::to_string(ttft_count_) + "\n";
  metric(o, "unicorn_queue_depth", "gauge", "Requests waiting for a free slot.");
  o += "unicorn_queue_depth " + std::to_string(queue_depth) + "\n";
  metric(o, "unicorn_slots_busy", "gauge", "Slots generating now.");
  o += "unicorn_slots_busy " + std::to_string(busy) + "\n";
  metric(o, "unicorn_slots_total", "gauge", "Slots (parallel requests) configured.");
  o += "unicorn_slots_total " + std::to_string(slots) + "\n";
  metric(o, "unicorn_client_disconnects_total", "counter", "Streaming requests stopped because the client left.");
  o += "unicorn_client_disconnects_total " + std::to_string(disconnects_) + "\n";
  metric(o, "unicorn_request_timeouts_total", "counter", "Requests cut short by the per-request time limit.");
  o += "unicorn_request_timeouts_total " + std::to_string(timeouts_) + "\n";
  metric(o, "unicorn_ready", "gauge", "1 when the model is loaded and requests are served.");
  o += std::string("unicorn_ready ") + (ready ? "1" : "0") + "\n";
  return o;
}

}  // namespace unicorn::server
