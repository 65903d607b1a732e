#include "runtime/server/slot_pool.h"

#include <algorithm>

namespace unicorn::server {

SlotLease& SlotLease::operator=(SlotLease&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = o.pool_;
    index_ = o.index_;
    o.pool_ = nullptr;
  }
  return *this;
}

Model& SlotLease::model() const { return *pool_->models_[static_cast<size_t>(index_)]; }

void SlotLease::release() {
  if (pool_ != nullptr) pool_->give_back(index_);
  pool_ = nullptr;
}

SlotPool::SlotPool(std::vector<std::unique_ptr<Model>> models, int max_queue)
    : models_(std::move(models)), max_queue_(std::max(0, max_queue)) {
  for (int i = static_cast<int>(models_.size()) - 1; i >= 0; --i) free_.push_back(i);
}

AcquireStatus SlotPool::acquire(std::chrono::steady_clock::time_point deadline, SlotLease& out,
                                const std::function<bool()>& abandoned) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return AcquireStatus::Closed;
  if (!free_.empty() && waiting_.empty()) {
    const int i = free_.back();
    free_.pop_back();
    lock.unlock();
    out = SlotLease(this, i);
    return AcquireStatus::Ok;
  }
  if (static_cast<int>(waiting_.size()) >= max_queue_) return AcquireStatus::QueueFull;
  const uint64_t ticket = next_ticket_++;
  waiting_.push_back(ticket);
  auto turn = [&] { return closed_ || (!free_.empty() && waiting_.front() == ticket); };
  bool ready = false, left = false;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const auto until = abandoned ? std::min(deadline, now + kAbandonPoll) : deadline;
    ready = cv_.wait_until(lock, until, turn);
    if (ready || std::chrono::steady_clock::now() >= deadline) break;
    lock.unlock();
    left = abandoned();
    lock.lock();
    if (left) break;
  }
  ready = ready || (!left && turn());
  waiting_.erase(std::find(waiting_.begin(), waiting_.end(), ticket));
  if (!ready || closed_) {
    cv_.notify_all();  // the next ticket may now be at the front
    return closed_ ? AcquireStatus::Closed : left ? AcquireStatus::Abandoned : AcquireStatus::TimedOut;
  }
  const int i = free_.back();
  free_.pop_back();
  cv_.notify_all();
  lock.unlock();
  out = SlotLease(this, i);
  return AcquireStatus::Ok;
}

void SlotPool::give_back(int index) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(index);
  }
  cv_.notify_all();
}

void SlotPool::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

int SlotPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(waiting_.size());
}

int SlotPool::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(models_.size() - free_.size());
}

}  // namespace unicorn::server
