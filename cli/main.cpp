#include <boost/program_options/errors.hpp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/version.h"
#include "cli/commands.h"

namespace unicorn::cli {
namespace {

const Command kCommands[] = {
    {"probe", "show the hardware here (CPU, Vulkan GPUs, NPU) and what will run where", cmd_probe},
    {"run", "generate text from a prompt with a model (.ucn, .gguf or HF directory)", cmd_run},
    {"tokenize", "print the token ids of a text for a model's tokenizer", cmd_tokenize},
    {"serve-lite", "serve a model over an OpenAI-compatible HTTP API (chat, completions, streaming)", cmd_serve},
    {"quantize", "quantize a model (HF dir, GGUF or .ucn) to GGUF or .ucn (--q4km, --q8_0, ...)", cmd_quantize},
    {"pack", "convert a model to the mmap-able packed .ucn format without quantizing", cmd_pack},
    {"inspect", "show a model file's metadata and tensors; --verify checks checksums", cmd_inspect},
    {"synth", "write a random-weight model of a real shape (llama-3.2-1b, gemma-3-1b, ...) for benchmarks", cmd_synth},
    {"bench", "measure prefill/decode tokens/s of a model (like llama-bench) and memory bandwidth", cmd_bench},
    {"perplexity", "perplexity of a model on a text; KL divergence / top-1 agreement vs saved base logits", cmd_perplexity},
};

std::string backends() {
  std::string b = "cpu";
#ifdef UNICORN_HAVE_VULKAN
  b += ", vulkan";
#endif
#ifdef UNICORN_HAVE_DRM
  b += ", drm";
#endif
  return b;
}

void print_help() {
  std::printf(
      "unicorn %s - local LLM inference on CPU, Vulkan GPUs and (when present) the AMD XDNA NPU\n\n"
      "usage: unicorn <command> [options]\n       unicorn <command> --help\n\ncommands:\n",
      kVersion);
  for (const Command& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf("\noptions:\n  -h, --help     show this help\n  --version      show version, git commit and backends\n");
}

}  // namespace
}  // namespace unicorn::cli

int main(int argc, char** argv) {
  using namespace unicorn::cli;
  if (argc < 2) {
    print_help();
    return kExitUsage;
  }
  const std::string first = argv[1];
  if (first == "-h" || first == "--help" || first == "help") {
    print_help();
    return kExitOk;
  }
  if (first == "--version" || first == "version") {
    std::printf("unicorn %s (commit %s)\nbackends: %s\n", unicorn::kVersion, unicorn::kGitCommit, backends().c_str());
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (first != c.name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
      return c.fn(args);
    } catch (const boost::program_options::error& e) {
      std::fprintf(stderr, "unicorn %s: %s (see unicorn %s --help)\n", c.name, e.what(), c.name);
      return kExitUsage;
    } catch (const unicorn::Error& e) {
      std::fprintf(stderr, "unicorn %s: error: %s\n", c.name, e.what());
      return kExitError;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "unicorn %s: error: out of memory\n", c.name);
      return kExitError;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "unicorn %s: internal error: %s\n", c.name, e.what());
      return kExitError;
    }
  }
  std::fprintf(stderr, "unicorn: unknown command '%s' (see unicorn --help)\n", first.c_str());
  return kExitUsage;
}
