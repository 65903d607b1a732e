// `unicorn pack`: flags and printing only; the work is runtime/quantize_job.h.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/job_output.h"
#include "runtime/quantize_job.h"

namespace unicorn::cli {

int cmd_pack(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description opts(
      "usage: unicorn pack IN OUT.ucn [--zstd] [--dtype f16|bf16|keep] [options]\n\n"
      "Converts a model (HuggingFace directory, GGUF or .ucn) to the packed, mmap-able .ucn format without\n"
      "quantizing. Tensor names and metadata keep the source's flavour. Every tensor is 4096-byte aligned and\n"
      "checksummed (see docs/FORMAT.md). The output appears atomically.\n\noptions");
  opts.add_options()
      ("zstd", "compress each tensor with zstd when that saves space (decompressed when the file is opened)")
      ("dtype", po::value<std::string>()->default_value("keep"),
       "float tensors as f16, bf16 or keep (as stored); 1-D tensors become f32 unless keep")
      ("threads", po::value<int>()->default_value(0), "worker threads (0 = physical cores)")
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
  if (!vm.count("in") || !vm.count("out")) throw po::error("needs IN and OUT.ucn");
  QuantizeJobOptions o;
  o.input = vm["in"].as<std::string>();
  o.output = vm["out"].as<std::string>();
  if (o.output.size() < 4 || o.output.compare(o.output.size() - 4, 4, ".ucn") != 0) {
    throw po::error("OUT must end in .ucn (use `unicorn quantize --f16 IN OUT.gguf` for GGUF)");
  }
  const std::string dt = vm["dtype"].as<std::string>();
  if (dt == "keep") o.pack_dtype = PackDType::Keep;
  else if (dt == "f16") o.pack_dtype = PackDType::F16;
  else if (dt == "bf16") o.pack_dtype = PackDType::BF16;
  else throw po::error("--dtype must be f16, bf16 or keep");
  o.zstd = vm.count("zstd") > 0;
  o.threads = vm["threads"].as<int>();
  if (o.threads < 0) throw po::error("--threads must be >= 0");
  const bool json = vm.count("json") > 0;
  const QuantizeJobResult r = run_quantize_job(o, make_progress_printer("pack", json || vm.count("quiet")));
  print_job_summary(o, r, std::string("pack ") + dt + (o.zstd ? " +zstd" : ""), json);
  return kExitOk;
}

}  // namespace unicorn::cli
