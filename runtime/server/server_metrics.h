#pragma once
// Counters of the OpenAI-compatible server, rendered as Prometheus text (exposition format 0.0.4).
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace unicorn::server {

// ServerMetrics: thread-safe (one mutex); every update and the rendering cost O(buckets + statuses).
class ServerMetrics {
 public:
  static constexpr std::array<double, 12> kTtftBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

  void count_request(int status);
  void add_generation(int prompt_tokens, double prefill_ms, int completion_tokens, int decode_tokens,
                      double decode_ms);
  void observe_ttft(double seconds);
  void count_disconnect();
  void count_timeout();

  // queue_depth/busy/slots are read by the caller from the slot pool at render time.
  std::string prometheus(int queue_depth, int busy, int slots, bool ready) const;

 private:
  mutable std::mutex mu_;
  std::map<int, uint64_t> requests_by_status_;
  uint64_t prompt_tokens_ = 0;
  uint64_t completion_tokens_ = 0;
  uint64_t prefill_tokens_ = 0;
  double prefill_s_ = 0;
  uint64_t decode_tokens_ = 0;
  double decode_s_ = 0;
  std::array<uint64_t, kTtftBuckets.size()> ttft_counts_{};  // per bucket, not cumulative
  uint64_t ttft_count_ = 0;
  double ttft_sum_ = 0;
  uint64_t disconnects_ = 0;
  uint64_t timeouts_ = 0;
};

}  // namespace unicorn::server
