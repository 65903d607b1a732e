// `unicorn perplexity`: flags and printing only; the work is runtime/perplexity.h.
#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/device_flags.h"
#include "cli/parse.h"
#include "runtime/model.h"
#include "runtime/perplexity.h"
#include "runtime/tokenizer.h"

namespace unicorn::cli {

int cmd_perplexity(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description opts(
      "usage: unicorn perplexity -m MODEL -f TEXT [--offset BYTES] [--ctx 256] [--stride N] [--save-logits FILE]\n"
      "       unicorn perplexity -m QUANTIZED_MODEL [-f TEXT] --kl-divergence-base FILE\n\n"
      "Perplexity of MODEL on TEXT (tokenized as one string, no BOS, special tokens not parsed). The tokens are cut\n"
      "into windows of ctx - 1 tokens taken every --stride tokens (default ctx - 1: no overlap; a last partial window\n"
      "is dropped), each run from an empty cache as BOS + its tokens; every prediction not scored by an earlier window\n"
      "counts. With --ctx 256 this is how shared/models/shakespeare-*/ref.json val_ppl was computed.\n"
      "--save-logits writes the log-probabilities of every scored position; --kl-divergence-base compares this model\n"
      "with such a file (same tokens and windows; -f may then be left out): mean KL divergence KL(base || model),\n"
      "its median and max, and top-1 agreement (how often both put the same token first), like llama.cpp's\n"
      "llama-perplexity --kl-divergence.\n\noptions");
  opts.add_options()
      ("model,m", po::value<std::string>(), "model (.gguf, .ucn or HF directory)")
      ("file,f", po::value<std::string>(), "text file")
      ("offset", po::value<int64_t>()->default_value(0), "skip this many bytes of the text first")
      ("ctx,c", po::value<int>()->default_value(256), "window length including BOS")
      ("stride", po::value<int>()->default_value(0), "tokens between window starts (0: ctx - 1)")
      ("chunks", po::value<int64_t>()->default_value(0), "score at most this many windows (0: all)")
      ("threads,t", po::value<int>()->default_value(0), "CPU threads (0 = physical cores)")
      ("save-logits", po::value<std::string>(), "write the log-probabilities of every scored position")
      ("kl-divergence-base", po::value<std::string>(), "compare with log-probabilities saved by --save-logits")
      ("json", "print JSON")
      ("quiet,q", "no progress output")
      ("help,h", "show this help");
  add_device_options(opts);
  po::variables_map vm;
  if (parse_or_print_help(args, opts, vm)) return kExitOk;
  if (!vm.count("model")) throw po::error("needs -m MODEL");
  PerplexityOptions po_;
  po_.ctx = vm["ctx"].as<int>();
  po_.stride = vm["stride"].as<int>();
  po_.max_windows = vm["chunks"].as<int64_t>();
  if (po_.ctx < 2) throw po::error("--ctx must be at least 2");
  if (po_.stride < 0) throw po::error("--stride must be >= 0");
  if (po_.max_windows < 0) throw po::error("--chunks must be >= 0");
  if (vm.count("save-logits")) po_.save_logits = vm["save-logits"].as<std::string>();
  if (vm.count("kl-divergence-base")) po_.kl_base = vm["kl-divergence-base"].as<std::string>();
  if (!vm.count("file") && po_.kl_base.empty()) throw po::error("needs -f TEXT (or --kl-divergence-base)");
  const int threads = vm["threads"].as<int>();
  if (threads < 0) throw po::error("--threads must be >= 0");
  const int64_t offset = vm["offset"].as<int64_t>();
  if (offset < 0) throw po::error("--offset must be >= 0");

  const std::string model_path = vm["model"].as<std::string>();
  ModelOptions mo;
  mo.threads = threads;
  mo.ctx = po_.ctx;
  apply_device_options(vm, mo);
  auto model = Model::load(model_path, mo);
  print_placement("perplexity", model->info());
  std::vector<int32_t> tokens;
  if (vm.count("file")) {
    const std::string path = vm["file"].as<std::string>();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open", Error::Context{path, "", ""});
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (offset > static_cast<int64_t>(text.size()))
      throw Error(str_cat("--offset ", offset, " is past the end (", text.size(), " bytes)"), Error::Context{path, "", "offset"});
    text.erase(0, static_cast<size_t>(offset));
    auto tok = Tokenizer::from_metadata(model->metadata());
    tokens = tok->encode(text, /*add_bos=*/false, /*parse_special=*/false);
  } else {
    tokens = read_logits_file_tokens(po_.kl_base);
  }
  const bool json = vm.count("json") > 0, quiet = json || vm.count("quiet") > 0;
  PerplexityProgress progress;
  if (!quiet) {
    progress = [](int64_t done, int64_t total) {
      std::fprintf(stderr, "\rperplexity: window %lld/%lld", static_cast<long long>(done), static_cast<long long>(total));
      if (done == total) std::fprintf(stderr, "\n");
    };
  }
  const PerplexityResult r = compute_perplexity(*model, tokens, model->info().bos_id, po_, progress);
  const int stride = po_.stride > 0 ? po_.stride : po_.ctx - 1;
  if (json) {
    nlohmann::json j;
    j["model"] = model_path;
    j["ctx"] = po_.ctx;
    j["stride"] = stride;
    j["tokens"] = r.tokens;
    j["windows"] = r.windows;
    j["scored"] = r.scored;
    j["nll"] = r.nll;
    j["ppl"] = r.ppl;
    j["ppl_stderr"] = r.ppl_stderr;
    if (r.has_kl) {
      j["base_ppl"] = r.base_ppl;
      j["kl_mean"] = r.kl_mean;
      j["kl_stderr"] = r.kl_stderr;
      j["kl_median"] = r.kl_median;
      j["kl_max"] = r.kl_max;
      j["top1_agreement"] = r.top1_agreement;
    }
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("%lld tokens, %lld windows of %d (stride %d), %lld predictions scored\n",
                static_cast<long long>(r.tokens), static_cast<long long>(r.windows), po_.ctx, stride,
                static_cast<long long>(r.scored));
    std::printf("perplexity: %.4f ± %.4f\n", r.ppl, r.ppl_stderr);
    if (r.has_kl) {
      std::printf("base perplexity: %.4f\n", r.base_ppl);
      std::printf("mean KL divergence: %.6f ± %.6f (median %.6f, max %.6f)\n", r.kl_mean, r.kl_stderr, r.kl_median,
                  r.kl_max);
      std::printf("top-1 agreement: %.3f%%\n", 100.0 * r.top1_agreement);
    }
  }
  return kExitOk;
}

}  // namespace unicorn::cli
