// `unicorn run`: load a model, build the prompt (plain, chat template, or raw ids), generate, print.
#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "base/error.h"
#include "cli/commands.h"
#include "cli/device_flags.h"
#include "cli/parse.h"
#include "runtime/chat_template.h"
#include "runtime/generate.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace unicorn::cli {
namespace {

constexpr const char* kDemoRelPath = "models/demo.ucn";

const char* kRunUsage =
    "usage: unicorn run [-m MODEL] (-p TEXT | -f FILE | --prompt-ids IDS) [options]\n\n"
    "Generates text from a prompt on the CPU (or a GPU through Vulkan: --device). The generated text streams to stdout; the timings (load, prompt\n"
    "tokens/s, generated tokens/s, peak memory) go to stderr. With --json, stdout is one JSON object instead.\n\n"
    "MODEL is a .gguf file, a .ucn file (from `unicorn pack` or `unicorn quantize`), or a HuggingFace checkpoint\n"
    "directory (config.json + *.safetensors + tokenizer.json). Architectures: llama, gemma3, gemma3n (text).\n"
    "Without -m, the small built-in demo model (models/demo.ucn, a 5M-parameter Gemma 3 trained on Tiny\n"
    "Shakespeare) is used, e.g.  unicorn run -p \"ROMEO:\"\n\n"
    "Getting real models (unicorn never downloads anything itself):\n"
    "  - any GGUF file, e.g. Gemma 3n E2B instruct at Q4_K_M: download gemma-3n-E2B-it-Q4_K_M.gguf from a\n"
    "    HuggingFace GGUF repository of it (such as unsloth/gemma-3n-E2B-it-GGUF), then\n"
    "      unicorn run -m gemma-3n-E2B-it-Q4_K_M.gguf --chat -p \"Why is the sky blue?\"\n"
    "  - a HuggingFace checkpoint directory, e.g. after accepting the license of google/gemma-3n-E2B-it:\n"
    "      huggingface-cli download google/gemma-3n-E2B-it --local-dir gemma-3n-E2B-it\n"
    "      unicorn run -m gemma-3n-E2B-it --chat -p \"Hello\"\n"
    "    (the text part of multimodal checkpoints is loaded; vision/audio towers are skipped)\n"
    "  - make it smaller and faster to load: unicorn quantize --q4km gemma-3n-E2B-it gemma3n-q4km.ucn\n\n"
    "Sampling defaults are llama.cpp's: --temp 0.8 --top-k 40 --top-p 0.95 --min-p 0.05 (applied in the order\n"
    "repetition penalty, top-k, top-p, min-p, temperature). --temp 0 is greedy. Same --seed, same output.\n\n"
    "options";

struct RunFlags {
  std::string model;
  std::string prompt;
  std::string prompt_file;
  std::string prompt_ids;
  int n_predict = 256;
  SamplerOptions sampling;
  int threads = 0;
  int ctx = 0;
  bool kv_f16 = false;
  bool chat = false;
  std::string system;
  std::string chat_template;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  bool no_bos = false;
  bool no_echo = false;
  bool json = false;
  std::string logits_out;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(cur, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != cur.size() || v < 0 || v > INT32_MAX) fail("--prompt-ids: '", cur, "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
    cur.clear();
  };
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n') flush();
    else cur += c;
  }
  flush();
  if (ids.empty()) fail("--prompt-ids: no ids given");
  return ids;
}

std::string executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

// The demo model beside the binary (installed or in-tree build) or in the source tree this binary was built from.
std::string find_demo_model(std::vector<std::string>& tried) {
  std::vector<fs::path> candidates;
  const std::string exe_dir = executable_dir();
  if (!exe_dir.empty()) {
    candidates.push_back(fs::path(exe_dir) / ".." / kDemoRelPath);
    candidates.push_back(fs::path(exe_dir) / kDemoRelPath);
    candidates.push_back(fs::path(exe_dir) / ".." / "share" / "unicorn" / kDemoRelPath);
  }
#ifdef UNICORN_SOURCE_DIR
  candidates.push_back(fs::path(UNICORN_SOURCE_DIR) / kDemoRelPath);
#endif
  for (const fs::path& p : candidates) {
    std::error_code ec;
    const fs::path norm = fs::weakly_canonical(p, ec);
    const fs::path& use = ec ? p : norm;
    if (std::find(tried.begin(), tried.end(), use.string()) != tried.end()) continue;
    tried.push_back(use.string());
    if (fs::is_regular_file(use, ec)) return use.string();
  }
  return {};
}

std::string read_prompt_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) fail_in({path, "", ""}, "cannot open the prompt file");
  std::string s;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

void write_logits(const std::string& path, const std::vector<float>& logits) {
  AtomicFileWriter w(path);
  w.write(logits.data(), logits.size() * sizeof(float));
  w.commit();
}

// A float as the short decimal it was typed as (0.05, not 0.0500000007), for the JSON report.
double short_decimal(float x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(x));
  return std::strtod(buf, nullptr);
}

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

int cmd_run(const std::vector<std::string>& args) {
  RunFlags f;
  po::options_description opts(kRunUsage, 110, 50);
  // clang-format off
  opts.add_options()
      ("help,h", "show this help")
      ("model,m", po::value(&f.model), "model: .gguf, .ucn or HF checkpoint directory (default: the demo model)")
      ("prompt,p", po::value(&f.prompt), "prompt text")
      ("file,f", po::value(&f.prompt_file), "read the prompt text from a file (bytes as they are)")
      ("prompt-ids", po::value(&f.prompt_ids), "use these token ids as the prompt, e.g. 2,256,60 (no BOS added)")
      ("n-predict,n", po::value(&f.n_predict)->default_value(256),
       "tokens to generate (-1: until end of text or a full context)")
      ("temp", po::value(&f.sampling.temp)->default_value(0.8f, "0.8"), "temperature (0 = greedy)")
      ("top-k", po::value(&f.sampling.top_k)->default_value(40), "keep the K most likely tokens (0 = off)")
      ("top-p", po::value(&f.sampling.top_p)->default_value(0.95f, "0.95"),
       "keep the most likely tokens up to this probability mass (1 = off)")
      ("min-p", po::value(&f.sampling.min_p)->default_value(0.05f, "0.05"),
       "drop tokens less likely than this fraction of the most likely one (0 = off)")
      ("repeat-penalty", po::value(&f.sampling.repeat_penalty)->default_value(1.0f, "1.0"),
       "penalize recently seen tokens (1 = off)")
      ("repeat-last-n", po::value(&f.sampling.repeat_last_n)->default_value(64),
       "how many recent tokens the penalty looks at (-1 = all)")
      ("seed", po::value<uint64_t>(), "random seed (default: random, printed with the timings)")
      ("threads,t", po::value(&f.threads)->default_value(0), "CPU threads (0 = physical cores)")
      ("ctx,c", po::value(&f.ctx)->default_value(0), "context size in tokens (0 = the model's, capped at 4096)")
      ("kv-f16", po::bool_switch(&f.kv_f16), "store the KV cache as F16 (half the memory)")
      ("chat", po::bool_switch(&f.chat), "wrap the prompt in the model's chat template (Gemma, Llama 3, ChatML)")
      ("system", po::value(&f.system), "system prompt (implies --chat)")
      ("chat-template", po::value(&f.chat_template), "force the chat format: gemma, llama3 or chatml")
      ("stop", po::value(&f.stop)->composing(), "stop when this text appears (repeatable); it is not printed")
      ("ignore-eos", po::bool_switch(&f.ignore_eos), "keep generating past end-of-text tokens")
      ("no-bos", po::bool_switch(&f.no_bos), "do not add the BOS token to a text prompt")
      ("no-echo", po::bool_switch(&f.no_echo), "do not print the prompt before the generated text")
      ("json", po::bool_switch(&f.json), "print one JSON object (ids, text, timings) instead of streaming text")
      ("logits-out", po::value(&f.logits_out),
       "write the prompt's logits from the batched prefill: float32 row-major [n_prompt, vocab]");
  add_device_options(opts);
  // clang-format on
  po::variables_map vm;
  if (parse_or_print_help(args, opts, vm)) return kExitOk;
  if (vm.count("seed")) {
    f.sampling.seed = vm["seed"].as<uint64_t>();
  } else {
    f.sampling.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  }
  if (!f.system.empty() || !f.chat_template.empty()) f.chat = true;

  const int sources = (vm.count("prompt") ? 1 : 0) + (vm.count("file") ? 1 : 0) + (vm.count("prompt-ids") ? 1 : 0);
  if (sources == 0) throw po::error("give a prompt with -p TEXT, -f FILE or --prompt-ids IDS");
  if (sources > 1) throw po::error("-p, -f and --prompt-ids are exclusive");
  const bool ids_mode = vm.count("prompt-ids") != 0;
  if (ids_mode && f.chat) throw po::error("--chat/--system apply to text prompts, not to --prompt-ids");
  if (f.n_predict < -1) throw po::error("-n must be -1 or more");
  if (f.ctx < 0) throw po::error("--ctx must be 0 or more");
  if (f.threads < 0) throw po::error("--threads must be 0 or more");
  std::optional<ChatFormat> forced_format;
  if (!f.chat_template.empty()) {
    forced_format = chat_format_from_name(f.chat_template);
    if (!forced_format) throw po::error("--chat-template must be gemma, llama3 or chatml");
  }

  if (f.model.empty()) {
    std::vector<std::string> tried;
    f.model = find_demo_model(tried);
    if (f.model.empty()) {
      std::string list;
      for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
      fail("no -m MODEL given and the demo model is not there (looked at ", list, "); see unicorn run --help");
    }
    std::fprintf(stderr, "unicorn run: no -m given: using the built-in demo model %s (Gemma 3, 5M parameters, "
                         "trained on Tiny Shakespeare)\n", f.model.c_str());
  }
  std::string prompt_text = f.prompt;
  if (vm.count("file")) prompt_text = read_prompt_file(f.prompt_file);

  // Load.
  const auto t_load = std::chrono::steady_clock::now();
  ModelOptions mopts;
  mopts.threads = f.threads;
  mopts.ctx = f.ctx;
  mopts.kv_f16 = f.kv_f16;
  apply_device_options(vm, mopts);
  std::unique_ptr<Model> model = Model::load(f.model, mopts);
  const ModelInfo& info = model->info();
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = Tokenizer::from_metadata(model->metadata());
  } catch (const Error& e) {
    if (!ids_mode) throw Error(str_cat("this model has no usable tokenizer (", e.what(), "); give --prompt-ids"),
                               {f.model, "", ""});
    std::fprintf(stderr, "unicorn run: note: no tokenizer in %s, so ids only (no text): %s\n", f.model.c_str(),
                 e.what());
  }
  const double load_ms = ms_between(t_load, std::chrono::steady_clock::now());
  if (!info.note.empty()) std::fprintf(stderr, "unicorn run: note: %s\n", info.note.c_str());
  print_placement("run", info);

  // Prompt.
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> eog = tok ? tok->eog_ids() : std::vector<int32_t>{};
  for (int id : info.eos_ids)
    if (std::find(eog.begin(), eog.end(), id) == eog.end()) eog.push_back(id);
  std::string chat_format_used;
  if (ids_mode) {
    prompt_ids = parse_ids(f.prompt_ids);
    for (int32_t id : prompt_ids)
      if (id >= info.vocab_size)
        fail("--prompt-ids: id ", id, " is outside the vocabulary of ", info.vocab_size, " tokens");
  } else {
    std::string text = prompt_text;
    if (f.chat) {
      std::optional<ChatFormat> format = forced_format;
      if (!format)
        format = detect_chat_format(tok->chat_template(), info.arch,
                                    [&](const std::string& t) { return tok->token_id(t).has_value(); });
      if (!format)
        fail("cannot tell which chat format this model uses (no chat template in it); "
             "pass --chat-template gemma, llama3 or chatml");
      std::vector<ChatMessage> messages;
      if (!f.system.empty()) messages.push_back({"system", f.system});
      messages.push_back({"user", prompt_text});
      text = render_chat(*format, messages, true);
      chat_format_used = chat_format_name(*format);
      if (auto end_id = tok->token_id(chat_end_of_turn(*format)))
        if (std::find(eog.begin(), eog.end(), *end_id) == eog.end()) eog.push_back(*end_id);
    }
    prompt_ids = tok->encode(text, tok->add_bos_default() && !f.no_bos, true);
  }

  // Generate.
  Sampler sampler(f.sampling);
  TokenDecoder decoder;
  if (tok) decoder = [&tok](int32_t id) { return tok->decode_token(id); };
  Generator gen(*model, decoder, eog);
  GenerateOptions gopts;
  gopts.max_new_tokens = f.n_predict;
  gopts.stop = f.stop;
  gopts.ignore_eog = f.ignore_eos;
  gopts.keep_prompt_logits = !f.logits_out.empty();
  TextSink sink;
  char last_printed = '\n';
  if (!f.json) {
    sink = [&last_printed](std::string_view s) {
      if (s.empty()) return;
      std::fwrite(s.data(), 1, s.size(), stdout);
      std::fflush(stdout);
      last_printed = s.back();
    };
    if (!ids_mode && !f.chat && !f.no_echo) sink(prompt_text);
  }
  GenerateResult res = gen.generate(prompt_ids, sampler, gopts, sink);
  if (!f.logits_out.empty()) write_logits(f.logits_out, res.prompt_logits);
  const uint64_t rss = peak_rss_bytes();
  const GenerateTimings& t = res.timings;

  if (f.json) {
    nlohmann::json j;
    j["model"] = f.model;
    j["arch"] = info.arch;
    j["prompt_ids"] = prompt_ids;
    j["generated_ids"] = res.generated_ids;
    j["text"] = res.text;
    j["stop_reason"] = stop_reason_name(res.stop_reason);
    j["stop_detail"] = res.stop_detail;
    if (!chat_format_used.empty()) j["chat_format"] = chat_format_used;
    j["sampling"] = {{"temp", short_decimal(f.sampling.temp)},
                     {"top_k", f.sampling.top_k},
                     {"top_p", short_decimal(f.sampling.top_p)},
                     {"min_p", short_decimal(f.sampling.min_p)},
                     {"repeat_penalty", short_decimal(f.sampling.repeat_penalty)},
                     {"repeat_last_n", f.sampling.repeat_last_n},
                     {"seed", f.sampling.seed}};
    j["timings"] = {{"load_ms", load_ms},
                    {"prefill_tokens", t.prefill_tokens},
                    {"prefill_ms", t.prefill_ms},
                    {"prefill_tok_s", t.prefill_tok_s()},
                    {"decode_tokens", t.decode_tokens},
                    {"decode_ms", t.decode_ms},
                    {"decode_tok_s", t.decode_tok_s()},
                    {"sample_ms", t.sample_ms},
                    {"total_ms", t.total_ms},
                    {"peak_rss_bytes", rss},
                    {"ctx", info.ctx}};
    j["device"] = info.device;
    if (!info.placement.empty()) j["placement"] = info.placement;
    // Generated bytes need not be valid UTF-8 (byte tokens); replace bad sequences rather than fail.
    std::cout << j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else {
    if (last_printed != '\n') std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  if (res.stop_reason == StopReason::ContextFull)
    std::fprintf(stderr, "unicorn run: %s\n", res.stop_detail.c_str());
  std::fprintf(stderr,
               "unicorn run: load %.0f ms | prompt %d tokens, %.1f tok/s | generated %zu tokens, %.1f tok/s | "
               "peak RSS %.1f MiB | seed %llu | stopped: %s\n",
               load_ms, t.prefill_tokens, t.prefill_tok_s(), res.generated_ids.size(), t.decode_tok_s(),
               rss / (1024.0 * 1024.0), static_cast<unsigned long long>(f.sampling.seed), res.stop_detail.c_str());
  print_profile("run", *model);
  return kExitOk;
}

}  // namespace unicorn::cli
