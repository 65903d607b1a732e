#pragma once
// Pipelined host-to-device uploads through a few staging buffers.
#ifdef UNICORN_HAVE_VULKAN
#include <cstdint>
#include <vector>

#include "hal/vk_buffer.h"

namespace unicorn::hal {

// StagedUploader: owns `slots` host-visible staging buffers of chunk_bytes each, a command buffer and a fence per
// slot. upload() cuts the data into chunks; the host copies a chunk into a free slot while the GPU copies the
// chunks before it into place, on the transfer queue where the device has one (a copy engine) and on the compute
// queue otherwise. Mapped destinations (UMA) are written directly. Not thread-safe; destination buffers must stay
// alive until finish() returns (the destructor waits too). Cost: one host memcpy per byte plus the device copy,
// overlapped; chunk_bytes * slots of host-visible memory.
class StagedUploader {
 public:
  explicit StagedUploader(const VulkanContext& ctx, uint64_t chunk_bytes = uint64_t{16} << 20, int slots = 3);
  ~StagedUploader();
  StagedUploader(const StagedUploader&) = delete;
  StagedUploader& operator=(const StagedUploader&) = delete;

  // Copies bytes from src to dst at offset (returns once src may be reused; the device copy may still run).
  void upload(GpuBuffer& dst, uint64_t offset, const void* src, uint64_t bytes);
  // The same into an unmapped buffer known by its handle (the GpuBuffer object may have moved since).
  void upload(VkBuffer dst, uint64_t offset, const void* src, uint64_t bytes);
  // Waits until every copy is done: the uploaded data is then visible to later submissions on either queue.
  void finish();
  uint64_t staged_bytes() const { return staged_bytes_; }  // bytes that went through the staging buffers

 private:
  struct Slot {
    GpuBuffer staging;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    bool busy = false;
  };
  void wait(Slot& s);

  const VulkanContext& ctx_;
  uint64_t chunk_;
  VkQueue queue_;
  VkCommandPool pool_;
  std::vector<Slot> slots_;
  size_t next_ = 0;
  uint64_t staged_bytes_ = 0;
};

}  // namespace unicorn::hal
#endif
