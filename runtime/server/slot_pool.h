#pragma once
// N generation slots (one Model, i.e. one KV cache, each) behind a bounded FIFO queue of waiting requests.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/model.h"

namespace unicorn::server {

enum class AcquireStatus { Ok, QueueFull, TimedOut, Closed, Abandoned };

class SlotPool;

// A held slot; gives it back when destroyed. Move-only; use from one thread.
class SlotLease {
 public:
  SlotLease() = default;
  SlotLease(SlotPool* pool, int index) : pool_(pool), index_(index) {}
  SlotLease(SlotLease&& o) noexcept : pool_(o.pool_), index_(o.index_) { o.pool_ = nullptr; }
  SlotLease& operator=(SlotLease&& o) noexcept;
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;
  ~SlotLease() { release(); }

  bool held() const { return pool_ != nullptr; }
  int index() const { return index_; }
  Model& model() const;
  void release();

 private:
  SlotPool* pool_ = nullptr;
  int index_ = -1;
};

// SlotPool: owns the slots' models; thread-safe. acquire() answers QueueFull at once when every slot is busy and
// max_queue requests already wait, so the queue (and the threads blocked in it) stay bounded. Waiters are served
// in arrival order. Costs one mutex and condition-variable round per acquire/release.
class SlotPool {
 public:
  SlotPool(std::vector<std::unique_ptr<Model>> models, int max_queue);

  // ABANDONED (optional) is asked about every kAbandonPoll while waiting in the queue, outside the lock: true
  // (e.g. the client hung up) leaves the queue with Abandoned.
  AcquireStatus acquire(std::chrono::steady_clock::time_point deadline, SlotLease& out,
                        const std::function<bool()>& abandoned = {});
  static constexpr std::chrono::milliseconds kAbandonPoll{20};
  // Wakes every waiter with Closed and refuses new acquires; held leases stay valid until released.
  void close();

  int slots() const { return static_cast<int>(models_.size()); }
  int queued() const;
  int busy() const;

 private:
  friend class SlotLease;
  void give_back(int index);

  std::vector<std::unique_ptr<Model>> models_;
  const int max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> free_;
  std::deque<uint64_t> waiting_;  // tickets in arrival order
  uint64_t next_ticket_ = 0;
  bool closed_ = false;
};

}  // namespace unicorn::server
