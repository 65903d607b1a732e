#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace unicorn {

// ThreadPool: owns n-1 worker threads (the caller is the n-th); parallel_for is not reentrant and must be called
// from one thread at a time. Cost per call: no allocation, no lock; workers and the caller spin briefly (~50 us)
// on atomics before sleeping on a futex, so back-to-back calls (a decode step makes ~100) wake without a syscall.
class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // Calls fn(thread_index, begin, end) on contiguous chunks covering [0, n); returns when all are done.
  // An exception thrown by fn is rethrown here (the first one).
  void parallel_for(size_t n, const std::function<void(int, size_t, size_t)>& fn);

 private:
  void worker(int index);
  void run_chunk(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  // Written by the caller before generation_ is bumped (release), read by workers after they see it (acquire).
  const std::function<void(int, size_t, size_t)>* job_ = nullptr;
  size_t job_n_ = 0;
  std::atomic<uint32_t> generation_{0};  // bumped once per call; workers wait for it to change
  std::atomic<int> pending_{0};          // workers still running the current call
  std::atomic<bool> stop_{false};
  std::mutex error_mu_;
  std::exception_ptr error_;
};

// Physical cores of this machine (falls back to hardware_concurrency()).
int physical_core_count();

}  // namespace unicorn
