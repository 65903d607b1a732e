// serve-lite pieces without HTTP: request parsing/validation (OpenAI field rules, errors naming the field),
// the bounded slot queue, constant-time key comparison, Prometheus rendering, and slot generation vs Generator.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/generate.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/server/client_connection.h"
#include "runtime/server/openai_request.h"
#include "runtime/server/server_metrics.h"
#include "runtime/server/slot_generation.h"
#include "runtime/server/slot_pool.h"
#include "runtime/tokenizer.h"
#include "tests/test_util.h"

using namespace unicorn;
using namespace unicorn::server;

namespace {

std::string param_of(const std::string& body, bool chat = true) {
  try {
    if (chat) parse_chat_request(body, 1);
    else parse_completion_request(body, 1);
  } catch (const ApiError& e) {
    CHECK(e.status == 400);
    return e.param.empty() ? "<none>" : e.param;
  }
  return "<accepted>";
}

}  // namespace

TEST_CASE("serve: chat request fields follow OpenAI's meaning", "[serve]") {
  const CompletionRequest r = parse_chat_request(
      R"({"model":"x","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
          "temperature":0,"top_p":0.5,"max_tokens":7,"max_completion_tokens":9,"stop":"END","seed":42,"n":1,
          "stream":true,"stream_options":{"include_usage":true},"frequency_penalty":0})",
      5);
  REQUIRE(r.chat);
  REQUIRE(r.messages.size() == 2);
  CHECK(r.messages[1].role == "user");
  CHECK(r.messages[1].content == "ab");
  CHECK(r.sampling.temp == 0.0f);
  CHECK(r.sampling.top_p == 0.5f);
  CHECK(r.sampling.top_k == 0);
  CHECK(r.sampling.min_p == 0.0f);
  CHECK(r.max_tokens == 9);  // max_completion_tokens wins
  CHECK(r.stop == std::vector<std::string>{"END"});
  CHECK(r.sampling.seed == 42);
  CHECK(r.seed_given);
  CHECK(r.stream);
  CHECK(r.include_usage);

  const CompletionRequest d = parse_chat_request(R"({"messages":[{"role":"developer","content":"x"}]})", 77);
  CHECK(d.messages[0].role == "system");
  CHECK(d.sampling.temp == 1.0f);  // OpenAI's default
  CHECK(d.sampling.seed == 77);
  CHECK_FALSE(d.seed_given);
  CHECK(d.max_tokens == -1);
}

TEST_CASE("serve: bad requests are refused naming the field", "[serve]") {
  CHECK(param_of("{not json") == "<none>");
  CHECK(param_of("[]") == "<none>");
  CHECK(param_of(R"({"model":"m"})") == "messages");
  CHECK(param_of(R"({"messages":[]})") == "messages");
  CHECK(param_of(R"({"messages":[{"role":"bot","content":"x"}]})") == "messages[0].role");
  CHECK(param_of(R"({"messages":[{"role":"user"}]})") == "messages[0].content");
  CHECK(param_of(R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})") == "messages[0].content");
  const std::string ok_msgs = R"("messages":[{"role":"user","content":"x"}])";
  CHECK(param_of("{" + ok_msgs + R"(,"temperature":"hot"})") == "temperature");
  CHECK(param_of("{" + ok_msgs + R"(,"temperature":2.5})") == "temperature");
  CHECK(param_of("{" + ok_msgs + R"(,"top_p":-0.1})") == "top_p");
  CHECK(param_of("{" + ok_msgs + R"(,"n":2})") == "n");
  CHECK(param_of("{" + ok_msgs + R"(,"max_tokens":0})") == "max_tokens");
  CHECK(param_of("{" + ok_msgs + R"(,"max_tokens":1.5})") == "max_tokens");
  CHECK(param_of("{" + ok_msgs + R"(,"stop":[1]})") == "stop");
  CHECK(param_of("{" + ok_msgs + R"(,"stop":["a","b","c","d","e"]})") == "stop");
  CHECK(param_of("{" + ok_msgs + R"(,"stream":"yes"})") == "stream");
  CHECK(param_of("{" + ok_msgs + R"(,"stream_options":{"include_usage":true}})") == "stream_options");
  CHECK(param_of("{" + ok_msgs + R"(,"model":5})") == "model");
  CHECK(param_of("{" + ok_msgs + R"(,"temperature":null,"stop":null})") == "<accepted>");
  CHECK(param_of(R"({"prompt":{"a":1}})", false) == "prompt");
  CHECK(param_of(R"({"prompt":["a","b"]})", false) == "prompt");
  CHECK(param_of(R"({"prompt":[1,-2]})", false) == "prompt");
  CHECK(param_of(R"({"prompt":""})", false) == "prompt");
  CHECK(param_of(R"({})", false) == "prompt");
  CHECK(param_of(R"({"prompt":[1,2,3]})", false) == "<accepted>");
  CHECK(param_of(R"({"prompt":["text"]})", false) == "<accepted>");
}

TEST_CASE("serve: error JSON has OpenAI's four fields", "[serve]") {
  const auto j = api_error_json({400, "bad", "invalid_request_error", "n", ""});
  CHECK(j["error"]["message"] == "bad");
  CHECK(j["error"]["type"] == "invalid_request_error");
  CHECK(j["error"]["param"] == "n");
  CHECK(j["error"]["code"].is_null());
  CHECK(j["error"].size() == 4);
}

TEST_CASE("serve: constant-time key comparison", "[serve]") {
  CHECK(constant_time_equal("secret", "secret"));
  CHECK_FALSE(constant_time_equal("secret", "secreT"));
  CHECK_FALSE(constant_time_equal("secret", "secret2"));
  CHECK_FALSE(constant_time_equal("secret", ""));
  CHECK_FALSE(constant_time_equal("", "x"));
  CHECK(constant_time_equal("", ""));
}

TEST_CASE("serve: slot pool queue is bounded and FIFO", "[serve]") {
  std::vector<std::unique_ptr<Model>> none(1);  // the pool never touches the models in this test
  SlotPool pool(std::move(none), 1);
  const auto far = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  SlotLease a;
  REQUIRE(pool.acquire(far, a) == AcquireStatus::Ok);
  CHECK(pool.busy() == 1);
  std::atomic<int> waiter_status{-1};
  std::thread waiter([&] {
    SlotLease b;
    waiter_status = static_cast<int>(pool.acquire(far, b));
  });
  while (pool.queued() < 1) std::this_thread::yield();
  SlotLease c;
  CHECK(pool.acquire(far, c) == AcquireStatus::QueueFull);  // one slot busy, one waiting: full
  a.release();
  waiter.join();
  CHECK(waiter_status == static_cast<int>(AcquireStatus::Ok));
  CHECK(pool.busy() == 0);  // the waiter's lease was released when its thread ended
  SlotLease d;
  REQUIRE(pool.acquire(far, d) == AcquireStatus::Ok);
  SlotLease e;
  CHECK(pool.acquire(std::chrono::steady_clock::now() + std::chrono::milliseconds(20), e) == AcquireStatus::TimedOut);
  std::thread closer([&] {
    SlotLease f;
    waiter_status = static_cast<int>(pool.acquire(far, f));
  });
  while (pool.queued() < 1) std::this_thread::yield();
  pool.close();
  closer.join();
  CHECK(waiter_status == static_cast<int>(AcquireStatus::Closed));
}

TEST_CASE("serve: metrics render as Prometheus text", "[serve]") {
  ServerMetrics m;
  m.count_request(200);
  m.count_request(200);
  m.count_request(429);
  m.add_generation(10, 100.0, 5, 4, 40.0);
  m.observe_ttft(0.03);
  m.observe_ttft(100.0);
  const std::string t = m.prometheus(3, 1, 2, true);
  CHECK(t.find("unicorn_requests_total{status=\"200\"} 2\n") != std::string::npos);
  CHECK(t.find("unicorn_requests_total{status=\"429\"} 1\n") != std::string::npos);
  CHECK(t.find("unicorn_prompt_tokens_total 10\n") != std::string::npos);
  CHECK(t.find("unicorn_completion_tokens_total 5\n") != std::string::npos);
  CHECK(t.find("unicorn_prefill_tokens_per_second 100\n") != std::string::npos);
  CHECK(t.find("unicorn_decode_tokens_per_second 100\n") != std::string::npos);
  CHECK(t.find("unicorn_time_to_first_token_seconds_bucket{le=\"0.025\"} 0\n") != std::string::npos);
  CHECK(t.find("unicorn_time_to_first_token_seconds_bucket{le=\"0.05\"} 1\n") != std::string::npos);
  CHECK(t.find("unicorn_time_to_first_token_seconds_bucket{le=\"30\"} 1\n") != std::string::npos);
  CHECK(t.find("unicorn_time_to_first_token_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(t.find("unicorn_time_to_first_token_seconds_count 2\n") != std::string::npos);
  CHECK(t.find("unicorn_queue_depth 3\n") != std::string::npos);
  CHECK(t.find("# TYPE unicorn_time_to_first_token_seconds histogram\n") != std::string::npos);
}

TEST_CASE("serve: slot generation equals the Generator, and stops when asked", "[serve]") {
  const std::string path = test::shared_path("models/tiny-synth-llama.gguf");
  if (path.empty()) {
    WARN("SKIP: models/tiny-synth-llama.gguf not in ../shared");
    return;
  }
  ModelOptions mo;
  mo.threads = 1;
  mo.ctx = 256;
  auto model = Model::load(path, mo);
  auto tok = Tokenizer::from_metadata(model->metadata());
  const std::vector<int32_t> prompt = tok->encode("hello there", true);
  SamplerOptions so;
  so.temp = 0.9f;
  so.seed = 11;

  Generator gen(*model, [&](int32_t id) { return tok->decode_token(id); }, {});
  Sampler sampler(so);
  GenerateOptions go;
  go.max_new_tokens = 40;
  const GenerateResult ref = gen.generate(prompt, sampler, go);

  SlotJob job;
  job.prompt = prompt;
  job.sampling = so;
  job.max_tokens = 40;
  std::string streamed;
  job.on_text = [&](std::string_view s) {
    streamed += s;
    return true;
  };
  const SlotResult got = run_slot_job(*model, *tok, job);
  CHECK(got.text == ref.text);
  CHECK(streamed == ref.text);
  CHECK(got.completion_tokens == static_cast<int>(ref.generated_ids.size()));
  CHECK(got.finish == FinishReason::Length);
  CHECK(got.prompt_tokens == static_cast<int>(prompt.size()));

  // A check that says "cancelled" at its 5th call (the first is before the prefill) stops there: no further forward.
  int checks = 0;
  job.check = [&] { return ++checks >= 5 ? FinishReason::Cancelled : FinishReason::Stop; };
  const SlotResult cut = run_slot_job(*model, *tok, job);
  CHECK(cut.finish == FinishReason::Cancelled);
  CHECK(cut.completion_tokens == 4);
  CHECK(cut.decode_tokens == 3);
  // Cancelled before the prefill (the client left while queued): nothing runs.
  job.check = [] { return FinishReason::Cancelled; };
  const SlotResult early = run_slot_job(*model, *tok, job);
  CHECK(early.finish == FinishReason::Cancelled);
  CHECK(early.completion_tokens == 0);
  CHECK(early.prefill_ms == 0);

  // A sink that cannot deliver (client gone) stops generation at that token.
  job.check = {};
  int deliveries = 0;
  job.on_text = [&](std::string_view) { return ++deliveries < 3; };
  const SlotResult gone = run_slot_job(*model, *tok, job);
  CHECK(gone.finish == FinishReason::Cancelled);
  CHECK(gone.completion_tokens < 40);
}

TEST_CASE("serve: a queued request whose client left gives up its place", "[serve]") {
  std::vector<std::unique_ptr<Model>> none(1);
  SlotPool pool(std::move(none), 2);
  const auto far = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  SlotLease a;
  REQUIRE(pool.acquire(far, a) == AcquireStatus::Ok);
  std::atomic<bool> left{false};
  std::atomic<int> status{-1};
  std::thread waiter([&] {
    SlotLease b;
    status = static_cast<int>(pool.acquire(far, b, [&] { return left.load(); }));
  });
  while (pool.queued() < 1) std::this_thread::yield();
  left = true;
  const auto t0 = std::chrono::steady_clock::now();
  waiter.join();
  CHECK(status == static_cast<int>(AcquireStatus::Abandoned));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));  // polled every 20 ms, not at the deadline
  CHECK(pool.queued() == 0);
  CHECK(pool.busy() == 1);  // the slot stays with its holder
}

TEST_CASE("serve: ClientConnection finds a request's socket and sees the peer hang up", "[serve]") {
  const int lst = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(lst >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lst, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(lst, 1) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(lst, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  const int served = ::accept(lst, nullptr, nullptr);
  REQUIRE(served >= 0);
  sockaddr_in cl{};
  len = sizeof(cl);
  REQUIRE(::getsockname(client, reinterpret_cast<sockaddr*>(&cl), &len) == 0);

  const ClientConnection conn(ntohs(addr.sin_port), "127.0.0.1", ntohs(cl.sin_port));
  CHECK(conn.found());
  CHECK_FALSE(conn.gone());
  REQUIRE(::send(client, "GET", 3, 0) == 3);  // a pipelined next request is not a hang-up
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(conn.gone());
  ::close(client);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(conn.gone());
  // Addresses that match no socket: never "gone" (cannot tell).
  const ClientConnection none(ntohs(addr.sin_port), "127.0.0.1", 1);
  CHECK_FALSE(none.found());
  CHECK_FALSE(none.gone());
  ::close(served);
  ::close(lst);
}
