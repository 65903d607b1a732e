#include "base/background_copy.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace unicorn {

BackgroundCopy::~BackgroundCopy() {
  stop_ = true;
  if (worker_.joinable()) worker_.join();
}

void BackgroundCopy::add(int group, void* dst, const void* src, uint64_t bytes, bool keep) {
  add_job(group, dst, Writer(), src, bytes, keep);
}

void BackgroundCopy::add(int group, Writer write, const void* src, uint64_t bytes, bool keep) {
  if (!write) throw Error("BackgroundCopy: empty writer");
  add_job(group, nullptr, std::move(write), src, bytes, keep);
}

void BackgroundCopy::add_job(int group, void* dst, Writer write, const void* src, uint64_t bytes, bool keep) {
  if (started_) throw Error("BackgroundCopy: add() after start()");
  if (group < -1) throw Error(str_cat("BackgroundCopy: group ", group, " is below -1"));
  if (bytes == 0) return;
  if (keep) {
    kept_.emplace_back(new uint8_t[bytes]);
    std::memcpy(kept_.back().get(), src, bytes);
    src = kept_.back().get();
  }
  jobs_.push_back({group, dst, std::move(write), src, bytes});
}

void BackgroundCopy::start() {
  if (started_) throw Error("BackgroundCopy: started twice");
  started_ = true;
  std::stable_sort(jobs_.begin(), jobs_.end(), [](const Job& a, const Job& b) { return a.group < b.group; });
  if (jobs_.empty()) {
    all_done_ = true;
    return;
  }
  done_through_ = jobs_.front().group - 1;  // groups below the first with copies have nothing to wait for
  worker_ = std::thread([this] { run(); });
}

void BackgroundCopy::run() {
  for (size_t i = 0; i < jobs_.size() && !stop_; ++i) {
    const Job& j = jobs_[i];
    if (pause_.count() > 0 && (i == 0 || jobs_[i - 1].group != j.group)) std::this_thread::sleep_for(pause_);
    const bool group_ends = i + 1 == jobs_.size() || jobs_[i + 1].group != j.group;
    try {
      if (j.dst != nullptr) {
        std::memcpy(j.dst, j.src, j.bytes);
      } else {
        j.write(j.src, j.bytes);
      }
      if (group_ends && group_end_) group_end_();
    } catch (const std::exception& e) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = e.what();
        all_done_ = true;
      }
      cv_.notify_all();
      return;
    }
    if (!group_ends) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The next job's group is higher: every group below it is copied too.
      done_through_ = i + 1 == jobs_.size() ? j.group : jobs_[i + 1].group - 1;
      all_done_ = i + 1 == jobs_.size();
    }
    cv_.notify_all();
  }
  std::vector<std::unique_ptr<uint8_t[]>>().swap(kept_);  // the sources kept for the copies are not needed now
}

void BackgroundCopy::wait_for(int group) {
  if (!started_) throw Error("BackgroundCopy: wait before start()");
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return all_done_ || done_through_ >= group; });
  if (!error_.empty() && done_through_ < group) throw Error(error_);
}

bool BackgroundCopy::ready(int group) {
  if (!started_) throw Error("BackgroundCopy: ready() before start()");
  std::lock_guard<std::mutex> lock(mu_);
  return done_through_ >= group || (all_done_ && error_.empty());
}

void BackgroundCopy::finish() {
  if (!started_) throw Error("BackgroundCopy: finish before start()");
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return all_done_; });
  }
  if (worker_.joinable()) worker_.join();
  if (!error_.empty()) throw Error(error_);
}

}  // namespace unicorn
