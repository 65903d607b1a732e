#pragma once
// Copies done by a background thread in groups, so that a consumer can start on group 0 while later groups are
// still being copied (model weights written into mapped GPU memory, or handed to a staging uploader, while the first
// layers run).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace unicorn {

// BackgroundCopy: owns its worker thread and the bytes it was given to keep; the destinations and the sources it
// was not given to keep must outlive it (or finish()). add() before start(), then wait_for() from any thread.
// Groups are copied in increasing order (each in the order added); cost: one memcpy per byte, off the caller's
// thread.
class BackgroundCopy {
 public:
  BackgroundCopy() = default;
  ~BackgroundCopy();  // stops after the copy in progress (the destinations may then be partly written)
  BackgroundCopy(const BackgroundCopy&) = delete;
  BackgroundCopy& operator=(const BackgroundCopy&) = delete;

  // Copies bytes from src to dst as part of group (>= -1). keep: the copy takes its own copy of the source first
  // (for sources that do not outlive the call).
  void add(int group, void* dst, const void* src, uint64_t bytes, bool keep = false);
  // The same with a writer instead of a destination: write(src, bytes) runs on the worker thread.
  using Writer = std::function<void(const void* src, uint64_t bytes)>;
  void add(int group, Writer write, const void* src, uint64_t bytes, bool keep = false);
  // Runs on the worker thread after each group's copies, before the group counts as copied (a staging uploader's
  // wait for its device copies). Set before start().
  void set_group_end(std::function<void()> hook) { group_end_ = std::move(hook); }
  // Starts copying in the background; add() may not be called afterwards. Without copies it only marks all done.
  void start();
  // Returns once every group <= group has been copied (at once for a group with no copies). Throws Error when a
  // writer or the group-end hook threw before group was done (the worker then stops; later groups fail the same).
  void wait_for(int group);
  // Whether wait_for(group) would return at once.
  bool ready(int group);
  // Returns once everything has been copied.
  void finish();
  // Tests: the worker pauses this long before each group, so that a consumer surely overtakes it.
  void set_pause_per_group(std::chrono::milliseconds pause) { pause_ = pause; }

 private:
  struct Job {
    int group;
    void* dst;  // null: write
    Writer write;
    const void* src;
    uint64_t bytes;
  };
  void add_job(int group, void* dst, Writer write, const void* src, uint64_t bytes, bool keep);
  void run();

  std::vector<Job> jobs_;
  std::vector<std::unique_ptr<uint8_t[]>> kept_;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  int done_through_ = -2;  // every group <= done_through_ is copied
  bool all_done_ = false;
  bool started_ = false;
  std::atomic<bool> stop_{false};
  std::chrono::milliseconds pause_{0};
  std::function<void()> group_end_;
  std::string error_;  // what the worker's writer or hook threw (under mu_)
};

}  // namespace unicorn
