#pragma once
// `unicorn bench --kernel`: the GPU time of one Vulkan kernel on random weights of a given type and shape, for
// tuning a kernel in isolation (the model benchmarks mix ~10 kinds of dispatch per layer).
#include <cstdint>
#include <string>

#include "base/dtype.h"
#include "runtime/bench.h"

namespace unicorn {

struct KernelBenchOptions {
  std::string kernel = "matvec";  // matvec | glu (fused gate/up, Q4_K) | matmul (prefill tile)
  DType type = DType::Q4_K;
  uint32_t rows = 4096, cols = 4096;
  uint32_t tokens = 1;            // activation rows (matvec/glu: 1..7; matmul: any)
  int calls = 200;                // dependent dispatches (barrier after each, as in a model) per timed submission
  int repetitions = 5;
  std::string device = "vulkan";  // a Vulkan device spec (vulkan, vulkan:N, auto)
};

struct KernelBenchResult {
  std::string device;
  std::string kernel;
  uint64_t weight_bytes = 0;  // bytes of the weight matrices one call reads
  double flops = 0;           // 2 * rows * cols * tokens (glu: twice)
  BenchStat us_per_call;      // wall time of one submission of `calls` dispatches / calls, per repetition
  BenchStat gb_s;             // weight_bytes / us_per_call
};

// Throws Error without a Vulkan device, for a shape the kernel does not take, or an unknown kernel.
KernelBenchResult run_kernel_bench(const KernelBenchOptions& options);

}  // namespace unicorn
