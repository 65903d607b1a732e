// `unicorn synth`: flags and printing only; the work is runtime/synth.h.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/parse.h"
#include "quant/recipe.h"
#include "runtime/synth.h"

namespace unicorn::cli {

int cmd_synth(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  std::string shapes;
  for (const SynthShape& s : synth_shapes()) shapes += str_cat("  ", s.name, " (", s.arch, ")\n");
  po::options_description opts(
      "usage: unicorn synth [--arch llama|gemma3|gemma3n] [--shape NAME] [--type q4km] [--seed S] [--layers N] [--vocab N] -o FILE\n\n"
      "Writes a random-weight model with the real dimensions of a known model, for benchmarks without downloads.\n"
      "Weights are normal (std 0.02; norms 1 + N(0, 0.02)), quantized with the chosen mix exactly as `unicorn\n"
      "quantize` would. The tokenizer is a synthetic SentencePiece vocabulary of the real size (special tokens, 256\n"
      "byte tokens, made-up pieces): any text encodes, the output is noise by design. FILE's extension picks the\n"
      "format: .gguf (llama.cpp names and metadata; llama.cpp loads it) or .ucn.\n\nshapes:\n" +
      shapes + "\noptions");
  opts.add_options()
      ("arch", po::value<std::string>()->default_value(""), "llama | gemma3 | gemma3n (default shape of that arch)")
      ("shape", po::value<std::string>()->default_value(""), "model shape (see above)")
      ("type", po::value<std::string>()->default_value("q4km"), "q4km | q5km | q6k | q8_0 | q4_0 | f16 | bf16")
      ("seed", po::value<uint64_t>()->default_value(1), "random seed")
      ("layers", po::value<int>()->default_value(0), "override the layer count (small test models)")
      ("vocab", po::value<int>()->default_value(0), "override the vocabulary size (small test models)")
      ("threads", po::value<int>()->default_value(0), "worker threads (0 = physical cores)")
      ("output,o", po::value<std::string>(), "output .gguf or .ucn")
      ("json", "print the summary as JSON")
      ("quiet,q", "no progress output")
      ("help,h", "show this help");
  po::variables_map vm;
  if (parse_or_print_help(args, opts, vm)) return kExitOk;
  if (!vm.count("output")) throw po::error("needs -o FILE");
  SynthOptions o;
  o.arch = vm["arch"].as<std::string>();
  o.shape = vm["shape"].as<std::string>();
  if (o.arch.empty() && o.shape.empty()) throw po::error("give --arch or --shape");
  o.mix = quant::parse_quant_mix_or_throw(vm["type"].as<std::string>());
  o.seed = vm["seed"].as<uint64_t>();
  o.layers = vm["layers"].as<int>();
  if (o.layers < 0) throw po::error("--layers must be >= 0");
  o.vocab = vm["vocab"].as<int>();
  o.threads = vm["threads"].as<int>();
  if (o.threads < 0) throw po::error("--threads must be >= 0");
  o.output = vm["output"].as<std::string>();
  const bool json = vm.count("json") > 0, quiet = json || vm.count("quiet") > 0;
  SynthProgress progress;
  if (!quiet) {
    progress = [](size_t done, size_t total, const std::string& name) {
      std::fprintf(stderr, "\rsynth: %zu/%zu %-40s", done, total, name.c_str());
      if (done == total) std::fprintf(stderr, "\n");
    };
  }
  const SynthResult r = synthesize_model(o, progress);
  if (json) {
    nlohmann::json j;
    j["output"] = o.output;
    j["shape"] = r.shape.name;
    j["arch"] = r.shape.arch;
    j["type"] = quant::quant_mix_name(o.mix);
    j["layers"] = r.shape.layers;
    j["vocab"] = r.shape.vocab;
    j["seed"] = o.seed;
    j["tensors"] = r.tensors;
    j["parameters"] = r.parameters;
    j["tensor_bytes"] = r.tensor_bytes;
    j["file_bytes"] = r.file_bytes;
    j["bits_per_weight"] = r.bits_per_weight;
    j["seconds"] = r.seconds;
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("wrote %s: %s (%s, %d layers), %s, %zu tensors, %.3f B parameters, %.1f MiB, %.2f bits/weight, %.1f s\n",
                o.output.c_str(), r.shape.name.c_str(), r.shape.arch.c_str(), r.shape.layers,
                quant::quant_mix_llama_name(o.mix), r.tensors, static_cast<double>(r.parameters) / 1e9,
                static_cast<double>(r.file_bytes) / (1024.0 * 1024.0), r.bits_per_weight, r.seconds);
  }
  return kExitOk;
}

}  // namespace unicorn::cli
