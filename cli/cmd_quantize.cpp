// `unicorn quantize`: flags and printing only; the work is runtime/quantize_job.h.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/job_output.h"
#include "quant/recipe.h"
#include "runtime/quantize_job.h"

namespace unicorn::cli {

int cmd_quantize(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  const std::pair<const char*, const char*> mixes[] = {
      {"q4km", "Q4_K_M: Q4_K with Q6_K for the output and half of attn_v/ffn_down (llama.cpp's mix)"},
      {"q5km", "Q5_K_M: Q5_K with Q6_K for the output and half of attn_v/ffn_down"},
      {"q6k", "Q6_K everywhere"},
      {"q8_0", "Q8_0 everywhere"},
      {"q4_0", "Q4_0 (Q6_K output)"},
      {"f16", "F16 (no quantization)"},
      {"bf16", "BF16 (no quantization)"}};
  po::options_description opts(
      "usage: unicorn quantize --q4km|--q5km|--q6k|--q8_0|--q4_0|--f16|--bf16 IN OUT [options]\n\n"
      "Quantizes a model. IN is a HuggingFace directory (config.json + *.safetensors), a GGUF file (F32/F16/BF16 or\n"
      "quantized tensors) or a .ucn file. OUT's extension picks the format: .gguf (llama.cpp naming and metadata,\n"
      "loadable by llama.cpp) or .ucn (Unicorn's packed format, keeping the source's naming). 1-D tensors (norms)\n"
      "stay F32; rows that are not a whole number of blocks fall back as llama.cpp does. The output appears\n"
      "atomically: complete, or not at all.\n\noptions");
  for (const auto& [name, help] : mixes) opts.add_options()(name, help);
  opts.add_options()
      ("threads", po::value<int>()->default_value(0), "worker threads (0 = physical cores)")
      ("report", po::value<std::string>(), "write a JSON report with each tensor's type and RMSE / max-abs error")
      ("json", "print the summary as JSON")
      ("quiet,q", "no progress output")
      ("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("in", po::value<std::string>())("out", po::value<std::string>());
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("in", 1).add("out", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  std::vector<std::string> chosen;
  for (const auto& [name, help] : mixes) {
    if (vm.count(name)) chosen.push_back(name);
  }
  if (chosen.size() != 1) throw po::error("give exactly one of --q4km --q5km --q6k --q8_0 --q4_0 --f16 --bf16");
  if (!vm.count("in") || !vm.count("out")) throw po::error("needs IN and OUT");
  QuantizeJobOptions o;
  o.input = vm["in"].as<std::string>();
  o.output = vm["out"].as<std::string>();
  o.mix = quant::parse_quant_mix_or_throw(chosen[0]);
  o.threads = vm["threads"].as<int>();
  if (o.threads < 0) throw po::error("--threads must be >= 0");
  o.measure_errors = vm.count("report") > 0;
  const bool json = vm.count("json") > 0;
  const QuantizeJobResult r = run_quantize_job(o, make_progress_printer("quantize", json || vm.count("quiet")));
  if (vm.count("report")) write_job_report(vm["report"].as<std::string>(), o, r, quant::quant_mix_name(*o.mix));
  print_job_summary(o, r, quant::quant_mix_name(*o.mix), json);
  return kExitOk;
}

}  // namespace unicorn::cli
