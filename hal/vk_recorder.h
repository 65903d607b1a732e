#pragma once
// Batches compute dispatches into one command buffer and one submission.
#ifdef UNICORN_HAVE_VULKAN
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "hal/vk_buffer.h"
#include "hal/vk_pipeline.h"

namespace unicorn::hal {

// One buffer binding of a dispatch: a whole buffer or a byte range of it.
struct BufferRange {
  const GpuBuffer* buffer = nullptr;
  uint64_t offset = 0;
  uint64_t bytes = VK_WHOLE_SIZE;
  BufferRange(const GpuBuffer& b) : buffer(&b) {}  // NOLINT: implicit on purpose, binds the whole buffer
  BufferRange(const GpuBuffer& b, uint64_t off, uint64_t n) : buffer(&b), offset(off), bytes(n) {}
};

// GPU time of one dispatch from timestamp queries.
struct DispatchTime {
  std::string label;
  double ms = 0;
};

// What a CommandRecorder times on the GPU (timestamp queries, where the queue has them). Span: each batch from its
// first command to its last, gaps included (2 timestamps per batch, nothing measurable added). PerDispatch: every
// dispatch on its own as well (2 timestamps each, which serialize the dispatches and add to short ones).
enum class GpuTiming { Off, Span, PerDispatch };

// CommandRecorder: owns its command buffers (each with a fence, reused batch after batch), descriptor pools, the
// descriptor sets it made (cached by pipeline layout and buffer ranges, so a model recording the same ops every
// token allocates and writes none after the first) and (optionally) a timestamp query pool; not copyable, not
// thread-safe, must not outlive its context or pipelines, and the buffers it records must live until the submission
// ends. Usage: dispatch()... then submit_and_wait(), which
// also resets it for the next batch. Each dispatch is followed by a compute->compute memory barrier (a batch is a
// sequence of dependent ops) except inside begin_concurrent()/end_concurrent(); the batch ends with a barrier to
// host reads. A long batch is cut into several command buffers, each submitted as soon as it is full (every
// submit_every() dispatches, fewer for the first ones), so the GPU runs the start of a batch while the host records
// the rest; they run in order and submit_and_wait() waits for all of them.
class CommandRecorder {
 public:
  // timing: what to time on the GPU (see GpuTiming; with PerDispatch timings() has one entry per dispatch).
  explicit CommandRecorder(const VulkanContext& ctx, GpuTiming timing = GpuTiming::Off);
  ~CommandRecorder();
  CommandRecorder(const CommandRecorder&) = delete;
  CommandRecorder& operator=(const CommandRecorder&) = delete;

  // Records pipeline over groups_x * groups_y * groups_z workgroups with buffers bound to bindings 0.. in order and
  // push_bytes bytes of push constants. Throws Error when the buffer count or push size does not match the pipeline
  // or a group count exceeds the device's limit.
  void dispatch(const ComputePipeline& pipeline, std::initializer_list<BufferRange> buffers, const void* push,
                uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1,
                const std::string& label = {});
  template <typename Push>
  void dispatch(const ComputePipeline& pipeline, std::initializer_list<BufferRange> buffers, const Push& push,
                uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1, const std::string& label = {}) {
    dispatch(pipeline, buffers, &push, sizeof(Push), groups_x, groups_y, groups_z, label);
  }

  // Records a copy of bytes from src at src_offset to dst at dst_offset, ordered after the dispatches before it
  // and before those after it (barriers both ways). Throws Error when a range is out of bounds.
  void copy(const GpuBuffer& src, uint64_t src_offset, const GpuBuffer& dst, uint64_t dst_offset, uint64_t bytes) {
    copy_rows(src, src_offset, 0, dst, dst_offset, 0, bytes, 1);
  }
  // count chunks of bytes: chunk i from src_offset + i * src_stride to dst_offset + i * dst_stride, one command.
  void copy_rows(const GpuBuffer& src, uint64_t src_offset, uint64_t src_stride, const GpuBuffer& dst,
                 uint64_t dst_offset, uint64_t dst_stride, uint64_t bytes, uint32_t count);

  // Records filling bytes of dst from offset (both multiples of 4) with the 32-bit value, ordered like copy().
  void fill(const GpuBuffer& dst, uint64_t offset, uint64_t bytes, uint32_t value);

  // Dispatches recorded between these two are independent of each other (none reads what another writes): they
  // get no barriers among them, so the GPU may overlap them; end_concurrent() records the one barrier after them.
  void begin_concurrent() { concurrent_ = true; }
  void end_concurrent();

  // Dispatches recorded since the last submission.
  uint32_t pending() const { return n_dispatches_; }
  // Submits what is recorded so far without waiting; the batch goes on (before the host blocks on something else,
  // so the GPU is not left waiting for a command buffer that is not full yet). Not inside a concurrent group.
  void submit_recorded() {
    if (recording_ && !concurrent_) flush();
  }
  // Dispatches per early submission (0: one submission per batch). Default 64, or UNICORN_VK_SUBMIT_EVERY.
  uint32_t submit_every() const { return submit_every_; }
  void set_submit_every(uint32_t n) { submit_every_ = n; }
  // Submits everything recorded (one vkQueueSubmit), waits, reads timestamps, and resets for the next batch.
  // On a GPU the wait sleeps until the batch's last early submission is done, then polls the fence of the rest (a
  // sleeping wait can wake well after the GPU finished, which a token's time pays for); on a CPU device (lavapipe)
  // it only sleeps. UNICORN_VK_SPIN_WAIT=0/1 overrides.
  void submit_and_wait();
  // Drops everything recorded since the last submission (after an error mid-recording) without running it.
  void discard();
  // Per-dispatch GPU times of the last submission (empty unless GpuTiming::PerDispatch is on and supported).
  const std::vector<DispatchTime>& timings() const { return timings_; }
  // GPU time of the last batch from its first command to its last (0 with GpuTiming::Off or no timestamps).
  double last_span_ms() const { return last_span_ms_; }
  // Host time submit_and_wait() last spent waiting for the GPU.
  double last_wait_ms() const { return last_wait_ms_; }

 private:
  void begin();
  void flush();  // ends and submits the current command buffer without waiting
  void reset_batch();
  VkDescriptorSet allocate_set(VkDescriptorSetLayout layout);

  void wait_for_batch();
  const VulkanContext& ctx_;
  std::vector<VkCommandBuffer> cbs_;  // cbs_[0 .. used_cbs_) belong to the current batch, the last one recording
  std::vector<VkFence> fences_;       // fences_[i] is signaled when cbs_[i] completes
  bool spin_wait_ = true;
  size_t used_cbs_ = 0;
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  uint32_t submit_every_ = 64;
  uint32_t first_flush_ = 4;   // dispatches in the first command buffer (UNICORN_VK_SUBMIT_FIRST); doubling after
  uint32_t since_flush_ = 0;     // dispatches in the current command buffer
  uint32_t flush_at_ = 0;        // flush the current command buffer at this many dispatches
  bool submitted_any_ = false;   // part of this batch was submitted already
  uint32_t submitted_cbs_ = 0;   // cbs_[0 .. submitted_cbs_) were submitted (their fences need a reset)
  void barrier();
  void transfer_barrier();  // transfers and dispatches before it complete before those after it
  void trim_set_cache();
  std::vector<VkDescriptorPool> pools_;
  size_t pool_in_use_ = 0;
  std::map<std::vector<uint64_t>, VkDescriptorSet> set_cache_;  // key: set layout, then (buffer id, offset, bytes)
  bool concurrent_ = false;
  bool barrier_pending_ = false;  // a concurrent group's dispatches still need their closing barrier
  GpuTiming timing_ = GpuTiming::Off;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  uint32_t max_queries_ = 0;
  double last_span_ms_ = 0, last_wait_ms_ = 0;
  bool recording_ = false;
  uint32_t n_dispatches_ = 0;
  std::vector<std::string> labels_;
  std::vector<DispatchTime> timings_;
};

}  // namespace unicorn::hal
#endif
