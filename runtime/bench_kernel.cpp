#include "runtime/bench_kernel.h"

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
  const std::vector<uint8_t> w = random_matrix(o.type, o.rows, o.cols, rng);
  // Buffers as the model places them: unmapped device-local memory on a discrete GPU (its mappable device-local
  // type can be far slower to read: on the H200 a 215 MB matrix there read at a ninth of the speed).
  GpuBuffer wa(*ctx, w.size(), BufferPlace::DeviceLocal, ctx->is_uma());
  wa.upload(w.data(), w.size());
  GpuBuffer wb;  // glu's up matrix
  if (glu) {
    const std::vector<uint8_t> u = random_matrix(o.type, o.rows, o.cols, rng);
    wb = GpuBuffer(*ctx, u.size(), BufferPlace::DeviceLocal, ctx->is_uma());
    wb.upload(u.data(), u.size());
  }
  std::vector<float> xs(uint64_t(o.tokens) * o.cols);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : xs) v = dist(rng);
  GpuBuffer x(*ctx, xs.size() * 4, BufferPlace::DeviceLocal, ctx->is_uma());
  x.upload(xs.data(), xs.size() * 4);
  GpuBuffer y(*ctx, uint64_t(o.tokens) * o.rows * 4, BufferPlace::DeviceLocal, ctx->is_uma());

  auto record = [&] {
    for (int i = 0; i < o.calls; ++i) {
      if (glu) vk.matvec_glu(rec, o.type, wa, wb, o.rows, o.cols, x, y, o.tokens, hal::GluActivation::Silu);
      else if (matmul) vk.matmul(rec, o.type, wa, 0, o.rows, o.cols, x, y, o.tokens);
      else vk.matvec(rec, o.type, wa, 0, o.rows, o.cols, x, y, o.tokens);
    }
  };
  record();  // warm-up: pipelines, descriptor sets, clocks
  rec.submit_and_wait();

  KernelBenchResult r;
  r.device = ctx->device_name();
  r.kernel = o.kernel;
  r.weight_bytes = w.size() * (glu ? 2 : 1);
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
