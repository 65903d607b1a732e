// Micro benchmark of kernels::matmul (not a test: prints speeds, checks nothing).
// Usage: unicorn_kernels_bench [--threads N] [--tokens N] [--seconds S] [--types q4_k,q6_k,...]
//                              [--targets avx2,avx3_dl,...]
// --targets times each listed Highway target (of those this CPU supports) in turn in the same run, so an old
// kernel (e.g. AVX2) and its replacement (AVX3_DL) are compared back to back on the same machine state.
// Decode: 1 token x W[rows=8192, cols=2048] (ffn_up/gate of Llama-3.2-1B) and W[2048, 8192] (ffn_down).
// Weights are cycled through copies totalling >= 256 MiB so decode reads DRAM, not the 32 MiB L3, like a
// real model does. Prefill (compute-bound, one copy): --tokens (default 128) tokens x the same matrices.
// decode-L2 / prefil-L2: a 512 x 2048 matrix that stays in L2 (compute speed without DRAM).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/hwy_targets.h"  // the same SIMD target set as kernels/, before any Highway header

#include <hwy/targets.h>

#include "base/dtype.h"
#include "base/half.h"
#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/matmul_job.h"

using namespace unicorn;

namespace {

// Random blocks with finite, modest scales (the bytes of d/dmin fields are overwritten).
std::vector<uint8_t> random_weights(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  const uint64_t n = dtype_row_bytes(t, static_cast<uint64_t>(cols)) * static_cast<uint64_t>(rows);
  std::vector<uint8_t> bytes(n);
  for (uint64_t i = 0; i + 4 <= n; i += 4) {
    const uint32_t r = rng();
    std::memcpy(&bytes[i], &r, 4);
  }
  const auto& tr = dtype_traits(t);
  auto put_f16 = [&](uint64_t off, float v) {
    const uint16_t h = f32_to_f16(v);
    std::memcpy(&bytes[off], &h, 2);
  };
  const uint64_t nblocks = n / tr.block_bytes;
  switch (t) {
    case DType::F32:
      for (uint64_t i = 0; i < n / 4; ++i) {
        const float v = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) * 1e-3f;
        std::memcpy(&bytes[i * 4], &v, 4);
      }
      break;
    case DType::F16:
      for (uint64_t i = 0; i < n / 2; ++i) put_f16(i * 2, static_cast<float>(static_cast<int>(rng() % 2001) - 1000) * 1e-3f);
      break;
    case DType::BF16:
      for (uint64_t i = 0; i < n / 2; ++i) {
        const uint16_t h = f32_to_bf16(static_cast<float>(static_cast<int>(rng() % 2001) - 1000) * 1e-3f);
        std::memcpy(&bytes[i * 2], &h, 2);
      }
      break;
    case DType::Q4_0:
    case DType::Q8_0:
      for (uint64_t b = 0; b < nblocks; ++b) put_f16(b * tr.block_bytes, 0.01f);
      break;
    case DType::Q4_K:
    case DType::Q5_K:
      for (uint64_t b = 0; b < nblocks; ++b) {
        put_f16(b * tr.block_bytes, 0.001f);
        put_f16(b * tr.block_bytes + 2, 0.001f);
      }
      break;
    case DType::Q6_K:
      for (uint64_t b = 0; b < nblocks; ++b) put_f16(b * tr.block_bytes + 208, 0.001f);
      break;
    default:
      break;
  }
  return bytes;
}

struct Result {
  double best_seconds;      // fastest single call, wall time
  double mean_seconds;      // mean wall time per call
  double best_cpu_seconds;  // least process CPU time of a call (all threads together)
  uint64_t weight_bytes;
};

Result time_matmul(DType t, int64_t rows, int64_t cols, int64_t tokens, bool from_dram, ThreadPool& pool,
                   double min_seconds, std::mt19937& rng) {
  const uint64_t bytes = dtype_row_bytes(t, static_cast<uint64_t>(cols)) * static_cast<uint64_t>(rows);
  const size_t copies = !from_dram ? 1 : std::max<size_t>(1, static_cast<size_t>((256ull << 20) / bytes + 1));
  std::vector<std::vector<uint8_t>> ws;
  for (size_t i = 0; i < copies; ++i) ws.push_back(random_weights(t, rows, cols, rng));
  std::vector<float> x(static_cast<size_t>(tokens * cols));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (auto& v : x) v = dist(rng);
  std::vector<float> y(static_cast<size_t>(tokens * rows));
  // Warm up (page faults, thread wake-up) on every copy.
  for (size_t i = 0; i < copies; ++i)
    kernels::matmul(kernels::WeightMatrix{t, ws[i].data(), rows, cols}, x.data(), tokens, y.data(), &pool);
  // Best call, not mean: on a machine shared with other jobs, a call that was not preempted shows what the
  // kernel does; the mean shows the neighbours.
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  int64_t calls = 0;
  double elapsed = 0, best = 1e30, best_cpu = 1e30;
  do {
    const auto& w = ws[static_cast<size_t>(calls) % copies];
    const std::clock_t c0 = std::clock();
    const auto t0 = clock::now();
    kernels::matmul(kernels::WeightMatrix{t, w.data(), rows, cols}, x.data(), tokens, y.data(), &pool);
    const auto t1 = clock::now();
    const std::clock_t c1 = std::clock();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    if (c1 > c0) best_cpu = std::min(best_cpu, static_cast<double>(c1 - c0) / CLOCKS_PER_SEC);
    ++calls;
    elapsed = std::chrono::duration<double>(t1 - start).count();
  } while (elapsed < min_seconds || calls < 3);
  return {best, elapsed / static_cast<double>(calls), best_cpu, bytes};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  int64_t prefill_tokens = 128;
  double seconds = 1.0;
  std::string types = "q4_k,q6_k,q8_0,f16";
  std::string target_list;  // empty: the best target only
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--tokens") prefill_tokens = std::atoll(next().c_str());
    else if (a == "--seconds") seconds = std::atof(next().c_str());
    else if (a == "--types") types = next();
    else if (a == "--targets") target_list = next();
    else {
      std::fprintf(stderr,
                   "usage: %s [--threads N] [--tokens N] [--seconds S] [--types q4_k,q6_k,q8_0,f16]"
                   " [--targets avx2,avx3_dl]\n",
                   argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  ThreadPool pool(threads);
  std::mt19937 rng(42);
  std::vector<int64_t> targets;  // 0: Highway's own choice
  for (size_t p = 0; p <= target_list.size() && !target_list.empty();) {
    size_t comma = target_list.find(',', p);
    if (comma == std::string::npos) comma = target_list.size();
    const std::string want = target_list.substr(p, comma - p);
    p = comma + 1;
    bool found = false;
    for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
      std::string name = hwy::TargetName(t);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (name == want) {
        targets.push_back(t);
        found = true;
      }
    }
    if (!found) {
      std::fprintf(stderr, "target %s is not compiled in or not supported by this CPU\n", want.c_str());
      return 2;
    }
  }
  if (targets.empty()) targets.push_back(0);
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    std::printf("target %s, %d threads\n", kernels::detail::matmul_target_name(), threads);
    // GB/s counts weight bytes only; GB/s and GFLOP/s are of the fastest call (wall time). cpu-GF/s divides by
    // the call's least CPU time / threads instead: what the wall time would be with the cores to ourselves (calls
    // of many ms get preempted on a shared machine, which only the wall time sees). clock() ticks are coarse
    // (~1-10 ms), so cpu-GF/s shows "-" for short calls.
    std::printf("%-6s %-9s %6s %6s %6s %10s %10s %9s %9s %9s\n", "type", "shape", "tokens", "rows", "cols", "best-us",
                "mean-us", "GB/s", "GFLOP/s", "cpu-GF/s");
    for (size_t pos = 0; pos <= types.size();) {
      size_t comma = types.find(',', pos);
      if (comma == std::string::npos) comma = types.size();
      const std::string name = types.substr(pos, comma - pos);
      pos = comma + 1;
      if (name.empty()) continue;
      const auto t = dtype_from_name(name);
      if (!t || !kernels::matmul_supports(*t)) {
        std::fprintf(stderr, "unknown or unsupported type %s\n", name.c_str());
        return 2;
      }
      struct Shape {
        const char* label;
        int64_t tokens, rows, cols;
      };
      // "-L2" shapes keep the weights in the 512 KiB L2 and the calls short (< 1 ms): they show the kernel's
      // compute speed, and short calls are rarely preempted on a busy machine, so their best time is clean.
      const Shape shapes[] = {{"decode", 1, 8192, 2048},
                              {"decode", 1, 2048, 8192},
                              {"decode-L2", 1, 512, 2048},
                              {"prefill", prefill_tokens, 8192, 2048},
                              {"prefill", prefill_tokens, 2048, 8192},
                              {"prefil-L2", 8, 512, 2048}};
      for (const auto& s : shapes) {
        const bool from_dram = s.tokens == 1 && s.rows * s.cols > 512 * 2048;
        const Result r = time_matmul(*t, s.rows, s.cols, s.tokens, from_dram, pool, seconds, rng);
        const double gbs = static_cast<double>(r.weight_bytes) / r.best_seconds / 1e9;
        const double gflops = 2.0 * static_cast<double>(s.rows * s.cols * s.tokens) / r.best_seconds / 1e9;
        const double flops = 2.0 * static_cast<double>(s.rows * s.cols * s.tokens);
        char cpu_col[32] = "-";
        if (r.best_cpu_seconds < 1e29 && r.best_cpu_seconds > 0.02)
          std::snprintf(cpu_col, sizeof cpu_col, "%.2f", flops / (r.best_cpu_seconds / threads) / 1e9);
        std::printf("%-6s %-9s %6lld %6lld %6lld %10.1f %10.1f %9.2f %9.2f %9s\n", name.c_str(), s.label,
                    static_cast<long long>(s.tokens), static_cast<long long>(s.rows), static_cast<long long>(s.cols),
                    r.best_seconds * 1e6, r.mean_seconds * 1e6, gbs, gflops, cpu_col);
        std::fflush(stdout);
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
  return 0;
}
