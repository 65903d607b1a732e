#include "base/thread_pool.h"

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace unicorn {

namespace {

// How long a waiting thread spins before it sleeps: longer than the gap between the matmuls of one decode step
// (norms, RoPE: a few microseconds), much shorter than a human-visible pause, so an idle pool costs no CPU.
constexpr auto kSpinFor = std::chrono::microseconds(50);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until value != old (or kSpinFor passes), then sleeps in atomic::wait until it changes.
template <typename T>
void wait_for_change(const std::atomic<T>& value, T old) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; value.load(std::memory_order_acquire) == old; ++i) {
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() - start > kSpinFor) {
      value.wait(old, std::memory_order_acquire);
      return;  // wait returns only once the value differs from old
    }
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int index) {
  const size_t n = job_n_;
  const size_t per = (n + n_threads_ - 1) / n_threads_;
  const size_t begin = std::min(n, per * index);
  const size_t end = std::min(n, begin + per);
  if (begin >= end) return;
  try {
    (*job_)(index, begin, end);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker(int index) {
  uint32_t seen = 0;
  for (;;) {
    wait_for_change(generation_, seen);
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed)) return;
    run_chunk(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(int, size_t, size_t)>& fn) {
  if (n == 0) return;
  if (n_threads_ == 1 || n == 1) {
    fn(0, 0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  error_ = nullptr;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();  // no syscall unless a worker is asleep
  run_chunk(0);
  for (int left = pending_.load(std::memory_order_acquire); left != 0; left = pending_.load(std::memory_order_acquire))
    wait_for_change(pending_, left);
  job_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

int physical_core_count() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys, core;
  while (std::getline(in, line)) {
    auto value = [&] { auto p = line.find(':'); return p == std::string::npos ? std::string() : line.substr(p + 1); };
    if (line.rfind("physical id", 0) == 0) phys = value();
    if (line.rfind("core id", 0) == 0) {
      core = value();
      cores.insert({phys, core});
    }
  }
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  if (cores.empty()) return hw > 0 ? hw : 1;
  return static_cast<int>(cores.size());
}

}  // namespace unicorn
