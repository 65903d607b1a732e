#pragma once
// Storage buffers on a Vulkan device, with uploads and downloads.
#ifdef UNICORN_HAVE_VULKAN
#include <cstdint>

#include "hal/vk_context.h"

namespace unicorn::hal {

enum class BufferPlace {
  DeviceLocal,  // VRAM (or on UMA devices memory that is also host-visible, written directly)
  HostVisible,  // host-visible, coherent (GTT on an APU; staging; read-backs); mapped for its whole life
};

// GpuBuffer: owns one VkBuffer and its memory; movable, not copyable; must not outlive its context. upload/download
// block until the copy is done (staging through a temporary host-visible buffer when the memory is not mappable).
// Not thread-safe.
class GpuBuffer {
 public:
  GpuBuffer() = default;
  // Throws Error when no suitable memory type exists or allocation fails (names size and place).
  // allow_mapping = false keeps a DeviceLocal buffer unmapped even where its memory is mappable, so transfers go
  // through staging as on a discrete GPU (lets UMA devices and lavapipe exercise that path).
  GpuBuffer(const VulkanContext& ctx, uint64_t bytes, BufferPlace place, bool allow_mapping = true);
  ~GpuBuffer();
  GpuBuffer(GpuBuffer&& o) noexcept;
  GpuBuffer& operator=(GpuBuffer&& o) noexcept;
  GpuBuffer(const GpuBuffer&) = delete;
  GpuBuffer& operator=(const GpuBuffer&) = delete;

  VkBuffer handle() const { return buffer_; }
  uint64_t size() const { return size_; }  // bytes asked for (the allocation is rounded up to whole words)
  BufferPlace place() const { return place_; }
  // Host pointer when the memory is mappable (HostVisible, or DeviceLocal on UMA); else nullptr.
  void* mapped() const { return mapped_; }
  // Unique per allocation for the process's life (never reused, unlike handle values): cache keys use it.
  uint64_t id() const { return id_; }

  // Copies bytes from host into [offset, offset + bytes). Throws Error when out of range.
  void upload(const void* src, uint64_t bytes, uint64_t offset = 0);
  // Copies [offset, offset + bytes) to host. Waits for the copy; call after the writing work has finished.
  void download(void* dst, uint64_t bytes, uint64_t offset = 0) const;

 private:
  void release();
  const VulkanContext* ctx_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  uint64_t size_ = 0;
  BufferPlace place_ = BufferPlace::DeviceLocal;
  bool coherent_ = true;
  void* mapped_ = nullptr;
  uint64_t id_ = 0;
};

}  // namespace unicorn::hal
#endif
