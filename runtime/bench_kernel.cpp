#include "runtime/bench_kernel.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "base/error.h"
#include "quant/quant.h"

#ifdef UNICORN_HAVE_VULKAN
#include "hal/vk_buffer.h"
#include "hal/vk_context.h"
#include "hal/vk_kernels.h"
#include "hal/vk_recorder.h"
#endif

namespace unicorn {

#ifndef UNICORN_HAVE_VULKAN
KernelBenchResult run_kernel_bench(const KernelBenchOptions&) {
  throw Error("bench --kernel: this build has no Vulkan backend");
}
#else
namespace {

// rows x cols random weights (normal, std 0.05, as the fixtures) quantized to type, row by row.
std::vector<uint8_t> random_matrix(DType type, uint32_t rows, uint32_t cols, std::mt19937& rng) {
  const uint64_t row_bytes = dtype_row_bytes(type, cols);
  std::vector<uint8_t> out(row_bytes * rows);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> row(cols);
  for (uint32_t r = 0; r < rows; ++r) {
    for (float& v : row) v = dist(rng);
    quant::quantize_row(type, row.data(), out.data() + row_bytes * r, cols);
  }
  return out;
}

}  // namespace

KernelBenchResult run_kernel_bench(const KernelBenchOptions& o) {
  using hal::BufferPlace;
  using hal::GpuBuffer;
  const bool glu = o.kernel == "glu", matmul = o.kernel == "matmul";
  if (!glu && !matmul && o.kernel != "matvec") throw Error(str_cat("bench --kernel: unknown kernel '", o.kernel, "'"));
  if (o.rows == 0 || o.cols == 0 || o.tokens == 0 || o.calls < 1 || o.repetitions < 1)
    throw Error("bench --kernel: rows, cols, tokens, calls and reps must be >= 1");
  if (o.cols % dtype_traits(o.type).block_elems != 0)
    throw Error(str_cat("bench --kernel: cols ", o.cols, " is not a multiple of ", dtype_name(o.type), "'s block"));
  if (glu && !hal::VulkanKernels::matvec_glu_supports(o.type, o.type, o.cols))
    throw Error(str_cat("bench --kernel glu: takes Q4_K with cols % 256 == 0, not ", dtype_name(o.type)));
  if (!matmul && o.tokens >= hal::VulkanKernels::kMatmulMinTokens)
    throw Error(str_cat("bench --kernel ", o.kernel, ": decode kernels take 1..",
                        hal::VulkanKernels::kMatmulMinTokens - 1, " tokens"));

  auto ctx = hal::VulkanContext::create(o.device);
  hal::VulkanKernels vk(*ctx);
  hal::CommandRecorder rec(*ctx);
  std::mt19937 rng(7);
  // Copies of the weights, used in turn, so that the calls stream from memory as a model's layers do instead of
  // rereading one cache-resident matrix (at least 256 MiB in all, at most 64 copies).
  const uint64_t one = dtype_row_bytes(o.type, o.cols) * o.rows * (glu ? 2 : 1);
  const int copies = static_cast<int>(std::clamp<uint64_t>(((256ull << 20) + one - 1) / one, 1, 64));
  // Buffers as the model places them: unmapped device-local memory on a discrete GPU.
  std::vector<GpuBuffer> wa, wb;  // wb: glu's up matrices
  const std::vector<uint8_t> w = random_matrix(o.type, o.rows, o.cols, rng);  // one draw, uploaded to every copy
  for (int c = 0; c < copies; ++c) {
    for (int m = 0; m < (glu ? 2 : 1); ++m) {
      GpuBuffer b(*ctx, w.size(), BufferPlace::DeviceLocal, ctx->is_uma());
      b.upload(w.data(), w.size());
      (m == 0 ? wa : wb).push_back(std::move(b));
    }
  }
  std::vector<float> xs(uint64_t(o.tokens) * o.cols);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : xs) v = dist(rng);
  GpuBuffer x(*ctx, xs.size() * 4, BufferPlace::DeviceLocal, ctx->is_uma());
  x.upload(xs.data(), xs.size() * 4);
  GpuBuffer y(*ctx, uint64_t(o.tokens) * o.rows * 4, BufferPlace::DeviceLocal, ctx->is_uma());

  auto record = [&] {
    for (int i = 0; i < o.calls; ++i) {
      const GpuBuffer& w = wa[i % copies];
      if (glu) vk.matvec_glu(rec, o.type, w, wb[i % copies], o.rows, o.cols, x, y, o.tokens, hal::GluActivation::Silu);
      else if (matmul) vk.matmul(rec, o.type, w, 0, o.rows, o.cols, x, y, o.tokens);
      else vk.matvec(rec, o.type, w, 0, o.rows, o.cols, x, y, o.tokens);
    }
  };
  record();  // warm-up: pipelines, descriptor sets, clocks
  rec.submit_and_wait();

  KernelBenchResult r;
  r.device = ctx->device_name();
  r.kernel = o.kernel;
  r.weight_bytes = one;
  r.flops = 2.0 * o.rows * o.cols * o.tokens * (glu ? 2 : 1);
  std::vector<double> us, gbs;
  for (int rep = 0; rep < o.repetitions; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    record();
    rec.submit_and_wait();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    us.push_back(s * 1e6 / o.calls);
    gbs.push_back(r.weight_bytes / (s / o.calls) / 1e9);
  }
  r.us_per_call = make_bench_stat(std::move(us));
  r.gb_s = make_bench_stat(std::move(gbs));
  return r;
}
#endif

}  // namespace unicorn
