// `unicorn serve-lite`: flags, signals and startup lines; the server itself is runtime/server/serve_lite.
#include <pthread.h>
#include <signal.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "cli/commands.h"
#include "runtime/server/serve_lite.h"

namespace po = boost::program_options;

namespace unicorn::cli {
namespace {

const char* kServeUsage =
    "usage: unicorn serve-lite -m MODEL [options]\n\n"
    "A small OpenAI-compatible HTTP server, so the official `openai` clients, editors and chat front ends can use\n"
    "a local model unchanged (base URL http://HOST:PORT/v1). Endpoints:\n"
    "  POST /v1/chat/completions   messages (system/user/assistant), temperature, top_p, max_tokens,\n"
    "                              max_completion_tokens, stop, seed, n=1, stream, stream_options.include_usage,\n"
    "                              ignore_eos (llama.cpp extension)\n"
    "  POST /v1/completions        prompt (text or token ids), same options\n"
    "  GET  /v1/models             the served model\n"
    "  GET  /health                {\"status\":\"ok\"}, or 503 while loading\n"
    "  GET  /metrics               Prometheus text: requests by status, tokens in/out, prefill/decode tok/s,\n"
    "                              queue depth, time-to-first-token histogram\n"
    "--parallel N requests generate at once (one model instance and KV cache each; weights used in place from a\n"
    "mapped file share their pages between the instances);\n"
    "up to --queue more wait, and further requests get 429 with Retry-After. A streaming request whose client\n"
    "disconnects frees its slot at the next token. Errors use OpenAI's {\"error\": {...}} shape.\n"
    "Binds to loopback by default; with --host 0.0.0.0 anyone on the network can use it (set --api-key).\n"
    "SIGINT/SIGTERM: stop accepting, let in-flight requests finish (up to --shutdown-grace), exit 0.\n"
    "Example:\n"
    "  unicorn serve-lite -m gemma-3n-E2B-it-Q4_K_M.gguf --port 8080 &\n"
    "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
    "       -d '{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'\n\n"
    "options";

}  // namespace

int cmd_serve(const std::vector<std::string>& args) {
  server::ServeOptions o;
  po::options_description opts(kServeUsage, 110, 50);
  // clang-format off
  opts.add_options()
      ("help,h", "show this help")
      ("model,m", po::value(&o.model_path), "model: .gguf, .ucn or HF checkpoint directory (required)")
      ("alias", po::value(&o.model_id), "model name shown in /v1/models and responses (default: the file name)")
      ("host", po::value(&o.host)->default_value("127.0.0.1"), "address to listen on")
      ("port", po::value(&o.port)->default_value(8080), "TCP port (0: any free port; the chosen one is printed)")
      ("parallel", po::value(&o.parallel)->default_value(1), "requests generating at once (slots)")
      ("queue", po::value(&o.queue)->default_value(8), "requests that may wait for a slot; more get 429")
      ("ctx,c", po::value(&o.ctx)->default_value(0), "context per slot in tokens (0 = the model's, capped at 4096)")
      ("threads,t", po::value(&o.threads)->default_value(0), "CPU threads in all, split among the slots (0 = cores)")
      ("kv-f16", po::bool_switch(&o.kv_f16), "store the KV caches as F16 (half the memory)")
      ("api-key", po::value(&o.api_key), "require 'Authorization: Bearer KEY' (except on /health)")
      ("timeout", po::value(&o.timeout_s)->default_value(300, "300"),
       "per-request time limit in seconds, queue wait included; generation is cut with finish_reason \"length\"")
      ("max-body", po::value(&o.max_body_bytes)->default_value(1 << 20, "1048576"),
       "largest request body in bytes (larger: 413)")
      ("chat-template", po::value(&o.chat_template), "force the chat format: gemma, llama3 or chatml")
      ("shutdown-grace", po::value(&o.shutdown_grace_s)->default_value(5, "5"),
       "seconds in-flight requests may still run after SIGINT/SIGTERM")
      ("device", po::value(&o.device)->default_value("cpu"),
       "cpu | vulkan | vulkan:N | auto (a real GPU, else the CPU); each slot loads its own copy on it")
      ("gpu-layers", po::value(&o.gpu_layers)->default_value(-1),
       "with a Vulkan device: the first N layers on the GPU, the rest on the CPU (-1 = all)");
  // clang-format on
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    if (!server::serve_lite_available())
      std::cout << "note: this unicorn was built without cpp-httplib, so serve-lite cannot run\n";
    return kExitOk;
  }
  po::notify(vm);
  if (o.model_path.empty()) throw po::error("give the model with -m MODEL");
  if (o.gpu_layers < -1) throw po::error("--gpu-layers must be -1 (all) or more");
  if (o.port < 0 || o.port > 65535) throw po::error("--port must be 0..65535");
  if (o.parallel < 1 || o.parallel > 256) throw po::error("--parallel must be 1..256");
  if (o.queue < 0 || o.queue > 4096) throw po::error("--queue must be 0..4096");
  if (o.ctx < 0) throw po::error("--ctx must be 0 or more");
  if (o.threads < 0) throw po::error("--threads must be 0 or more");
  if (!(o.timeout_s > 0)) throw po::error("--timeout must be more than 0");
  if (!(o.shutdown_grace_s >= 0)) throw po::error("--shutdown-grace must be 0 or more");
  if (o.max_body_bytes < 1024) throw po::error("--max-body must be at least 1024");

  // Signals go to one thread that asks the server to stop; every other thread (created below) has them blocked.
  // A peer that closes its socket mid-write must not kill the process: ignore SIGPIPE (writes then fail).
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::ServeLite srv(o);
  const int port = srv.start();
  const double grace = o.shutdown_grace_s;
  std::thread signal_thread([&srv, stop_signals, grace] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "unicorn serve-lite: %s: stopping (in-flight requests get %.1f s)\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", grace);
    srv.request_stop();
  });
  std::fprintf(stderr, "unicorn serve-lite: listening on http://%s:%d (loading %s)\n", o.host.c_str(), port,
               o.model_path.c_str());
  try {
    srv.load();
  } catch (...) {
    // Unblock the signal thread so it can be joined, then report the load error.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    srv.request_stop();
    srv.wait();
    throw;
  }
  std::fprintf(stderr, "unicorn serve-lite: ready: %d slot(s), queue %d, model '%s'\n", o.parallel, o.queue,
               o.model_path.c_str());
  srv.wait();
  signal_thread.join();
  std::fprintf(stderr, "unicorn serve-lite: stopped\n");
  return kExitOk;
}

}  // namespace unicorn::cli
