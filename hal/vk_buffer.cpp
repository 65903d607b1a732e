#include "hal/vk_buffer.h"

#ifdef UNICORN_HAVE_VULKAN
#include <atomic>
#include <cstring>
#include <utility>

#include "base/error.h"

namespace unicorn::hal {

namespace {
std::atomic<uint64_t> next_buffer_id{1};
}  // namespace

GpuBuffer::GpuBuffer(const VulkanContext& ctx, uint64_t bytes, BufferPlace place, bool allow_mapping)
    : ctx_(&ctx), size_(bytes), place_(place) {
  if (bytes == 0) fail("GPU buffer of 0 bytes");
  const VulkanFns& f = ctx.fn();
  VkBufferCreateInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  // Shaders read uint32 words: round up so a buffer ending mid-word (18/34/210-byte blocks) can read its last bytes.
  bi.size = (bytes + 3) & ~uint64_t{3};
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  const uint32_t families[2] = {ctx.queue_family(), ctx.has_transfer_queue() ? ctx.transfer_family() : 0u};
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  if (ctx.has_transfer_queue()) {  // uploads on the transfer queue, use on the compute queue
    bi.sharingMode = VK_SHARING_MODE_CONCURRENT;
    bi.queueFamilyIndexCount = 2;
    bi.pQueueFamilyIndices = families;
  }
  vk_check(f.vkCreateBuffer(ctx.device(), &bi, nullptr, &buffer_), "vkCreateBuffer");
  VkMemoryRequirements req{};
  f.vkGetBufferMemoryRequirements(ctx.device(), buffer_, &req);
  int type = -1;
  if (place == BufferPlace::DeviceLocal) {
    // On UMA devices device-local memory is often also host-visible: then it is written without staging.
    // Without mapping, take the first device-local type: on a discrete GPU the host-visible device-local type is
    // often a small BAR window (256 MiB) that weights would exhaust.
    const VkMemoryPropertyFlags mappable = allow_mapping ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                               VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                                         : 0;
    type = ctx.find_memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                                VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | mappable);
    if (type < 0) type = ctx.find_memory_type(req.memoryTypeBits, 0, 0);
  } else {
    type = ctx.find_memory_type(req.memoryTypeBits,
                                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                    VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  }
  if (type < 0) {
    release();
    fail("no Vulkan memory type for a ", bytes, "-byte ",
         place == BufferPlace::DeviceLocal ? "device-local" : "host-visible", " buffer");
  }
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = static_cast<uint32_t>(type);
  const VkResult r = f.vkAllocateMemory(ctx.device(), &ai, nullptr, &memory_);
  if (r != VK_SUCCESS) {
    release();
    fail("allocating a ", bytes, "-byte GPU buffer failed: ", vk_result_name(r));
  }
  vk_check(f.vkBindBufferMemory(ctx.device(), buffer_, memory_, 0), "vkBindBufferMemory");
  id_ = next_buffer_id.fetch_add(1);
  const VkMemoryPropertyFlags flags = ctx.memory_properties().memoryTypes[type].propertyFlags;
  if ((flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (allow_mapping || place == BufferPlace::HostVisible)) {
    coherent_ = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    vk_check(f.vkMapMemory(ctx.device(), memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "vkMapMemory");
  }
}

void GpuBuffer::release() {
  if (ctx_ == nullptr) return;
  const VulkanFns& f = ctx_->fn();
  if (mapped_ != nullptr) f.vkUnmapMemory(ctx_->device(), memory_);
  if (buffer_ != VK_NULL_HANDLE) f.vkDestroyBuffer(ctx_->device(), buffer_, nullptr);
  if (memory_ != VK_NULL_HANDLE) f.vkFreeMemory(ctx_->device(), memory_, nullptr);
  mapped_ = nullptr;
  buffer_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
  ctx_ = nullptr;
}

GpuBuffer::~GpuBuffer() { release(); }

GpuBuffer::GpuBuffer(GpuBuffer&& o) noexcept { *this = std::move(o); }

GpuBuffer& GpuBuffer::operator=(GpuBuffer&& o) noexcept {
  if (this != &o) {
    release();
    ctx_ = std::exchange(o.ctx_, nullptr);
    buffer_ = std::exchange(o.buffer_, VK_NULL_HANDLE);
    memory_ = std::exchange(o.memory_, VK_NULL_HANDLE);
    size_ = std::exchange(o.size_, 0);
    place_ = o.place_;
    coherent_ = o.coherent_;
    mapped_ = std::exchange(o.mapped_, nullptr);
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

void GpuBuffer::upload(const void* src, uint64_t bytes, uint64_t offset) {
  if (offset > size_ || bytes > size_ - offset) fail("GPU buffer upload of ", bytes, " bytes at ", offset, " past its ", size_, " bytes");
  if (bytes == 0) return;
  const VulkanFns& f = ctx_->fn();
  if (mapped_ != nullptr) {
    std::memcpy(static_cast<uint8_t*>(mapped_) + offset, src, bytes);
    if (!coherent_) {
      VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, memory_, 0, VK_WHOLE_SIZE};
      vk_check(f.vkFlushMappedMemoryRanges(ctx_->device(), 1, &range), "vkFlushMappedMemoryRanges");
    }
    return;
  }
  GpuBuffer staging(*ctx_, bytes, BufferPlace::HostVisible);
  staging.upload(src, bytes);
  ctx_->submit_and_wait([&](VkCommandBuffer cb) {
    VkBufferCopy copy{0, offset, bytes};
    f.vkCmdCopyBuffer(cb, staging.handle(), buffer_, 1, &copy);
  });
}

void GpuBuffer::download(void* dst, uint64_t bytes, uint64_t offset) const {
  if (offset > size_ || bytes > size_ - offset) fail("GPU buffer download of ", bytes, " bytes at ", offset, " past its ", size_, " bytes");
  if (bytes == 0) return;
  const VulkanFns& f = ctx_->fn();
  if (mapped_ != nullptr) {
    if (!coherent_) {
      VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, memory_, 0, VK_WHOLE_SIZE};
      vk_check(f.vkInvalidateMappedMemoryRanges(ctx_->device(), 1, &range), "vkInvalidateMappedMemoryRanges");
    }
    std::memcpy(dst, static_cast<const uint8_t*>(mapped_) + offset, bytes);
    return;
  }
  GpuBuffer staging(*ctx_, bytes, BufferPlace::HostVisible);
  ctx_->submit_and_wait([&](VkCommandBuffer cb) {
    VkBufferCopy copy{offset, 0, bytes};
    f.vkCmdCopyBuffer(cb, buffer_, staging.handle(), 1, &copy);
  });
  staging.download(dst, bytes);
}

}  // namespace unicorn::hal
#endif
