#pragma once
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace unicorn {

// ThreadPool: owns n-1 worker threads (the caller is the n-th); parallel_for is not reentrant and must be called
// from one thread at a time. Cost: one wake-up and one barrier per call, no allocation per call.
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
  std::mutex mu_;
  std::condition_variable cv_start_;
  std::condition_variable cv_done_;
  const std::function<void(int, size_t, size_t)>* job_ = nullptr;
  size_t job_n_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

// Physical cores of this machine (falls back to hardware_concurrency()).
int physical_core_count();

}  // namespace unicorn
