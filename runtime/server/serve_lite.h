#pragma once
// `unicorn serve-lite`: a small OpenAI-compatible HTTP server (cpp-httplib) over N generation slots.
// Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, GET /metrics.
#include <cstddef>
#include <memory>
#include <string>

namespace unicorn::server {

struct ServeOptions {
  std::string model_path;
  std::string model_id;                 // name in /v1/models and responses (default: the model file's name)
  std::string host = "127.0.0.1";
  int port = 8080;                      // 0: any free port (the chosen one is returned by start())
  int parallel = 1;                     // slots: requests generating at once (one model instance + KV cache each)
  int queue = 8;                        // requests allowed to wait for a slot; more are answered 429
  int ctx = 0;                          // per-slot context (0: the model's, capped as in ModelOptions)
  int threads = 0;                      // CPU threads in all (0: physical cores), split among the slots
  bool kv_f16 = false;
  std::string device = "cpu";           // as ModelOptions::device (each slot gets its own model on it)
  int gpu_layers = -1;
  std::string api_key;                  // empty: no authentication
  double timeout_s = 300;               // per-request time limit (queue wait + generation)
  size_t max_body_bytes = 1 << 20;      // larger request bodies are answered 413
  std::string chat_template;            // "", "gemma", "llama3" or "chatml"
  double shutdown_grace_s = 5;          // on stop, in-flight requests may finish for this long, then are cut
};

// True when this binary was built with cpp-httplib (otherwise ServeLite::start throws Error saying so).
bool serve_lite_available();

// ServeLite: owns the HTTP server, its threads, the tokenizer, the slots' models and the metrics.
// start/load/wait are called by one owning thread in that order; request_stop may be called from any thread
// (e.g. a signal-handling thread). Memory: the weights are mapped once per slot (shared pages for mmapped
// files) plus one KV cache per slot.
class ServeLite {
 public:
  explicit ServeLite(ServeOptions opts);
  ~ServeLite();
  ServeLite(const ServeLite&) = delete;
  ServeLite& operator=(const ServeLite&) = delete;

  // Binds and starts serving (/health answers 503 "loading" until load() is done). Returns the bound port.
  // Throws Error when the address cannot be bound.
  int start();
  // Loads the tokenizer and one model per slot, then serves requests. Throws Error for a bad model.
  void load();
  // Asks wait() to shut down: stop accepting, answer waiting requests 503, let in-flight ones finish within the
  // grace period, then cut them.
  void request_stop();
  // Blocks until request_stop(), then shuts down as above and returns when every connection is closed.
  void wait();

  struct Impl;  // defined in serve_lite.cpp (keeps httplib out of this header)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace unicorn::server
