#pragma once
// The --device / --gpu-layers / --profile flags shared by run, bench, perplexity and serve-lite, and the stderr
// lines that say where a model runs.
#include <boost/program_options.hpp>
#include <cstdio>
#include <string>

#include "runtime/model.h"

namespace unicorn::cli {

inline void add_device_options(boost::program_options::options_description& opts) {
  namespace po = boost::program_options;
  opts.add_options()
      ("device", po::value<std::string>()->default_value("cpu"),
       "cpu | vulkan (best Vulkan device; lavapipe only if no GPU) | vulkan:N | auto (a real GPU, else the CPU)")
      ("gpu-layers", po::value<int>()->default_value(-1),
       "with a Vulkan device: run the first N layers on the GPU and the rest on the CPU (-1 = all, 0 = none)")
      ("profile", po::bool_switch(), "with a Vulkan device: print the GPU time of each op (timestamp queries)");
}

// Copies the flags into opts; throws po::error for a bad --gpu-layers.
inline void apply_device_options(const boost::program_options::variables_map& vm, ModelOptions& opts) {
  opts.device = vm["device"].as<std::string>();
  opts.gpu_layers = vm["gpu-layers"].as<int>();
  if (opts.gpu_layers < -1) throw boost::program_options::error("--gpu-layers must be -1 (all) or more");
  opts.profile = vm["profile"].as<bool>();
}

// One line on stderr naming the device and the weight placement, for models that are not plain CPU ones.
inline void print_placement(const char* command, const ModelInfo& info) {
  if (info.placement.empty()) return;
  std::fprintf(stderr, "unicorn %s: %s: %s\n", command, info.device.c_str(), info.placement.c_str());
}

inline void print_profile(const char* command, const Model& model) {
  const std::string report = model.profile_report();
  if (!report.empty()) std::fprintf(stderr, "unicorn %s: profile\n%s", command, report.c_str());
}

}  // namespace unicorn::cli
