#include "hal/vk_uploader.h"

#ifdef UNICORN_HAVE_VULKAN
#include <algorithm>

#include "base/error.h"

namespace unicorn::hal {

StagedUploader::StagedUploader(const VulkanContext& ctx, uint64_t chunk_bytes, int slots)
    : ctx_(ctx),
      chunk_(chunk_bytes),
      queue_(ctx.has_transfer_queue() ? ctx.transfer_queue() : ctx.queue()),
      pool_(ctx.has_transfer_queue() ? ctx.transfer_pool() : ctx.command_pool()) {
  if (chunk_bytes == 0 || slots < 1) fail("StagedUploader: chunk and slot count must be positive");
  slots_.resize(static_cast<size_t>(slots));
}

StagedUploader::~StagedUploader() {
  const VulkanFns& f = ctx_.fn();
  for (Slot& s : slots_) {
    if (s.busy) f.vkWaitForFences(ctx_.device(), 1, &s.fence, VK_TRUE, UINT64_MAX);  // no throwing here
    if (s.fence != VK_NULL_HANDLE) f.vkDestroyFence(ctx_.device(), s.fence, nullptr);
    if (s.cb != VK_NULL_HANDLE) f.vkFreeCommandBuffers(ctx_.device(), pool_, 1, &s.cb);
  }
}

void StagedUploader::wait(Slot& s) {
  if (!s.busy) return;
  const VulkanFns& f = ctx_.fn();
  s.busy = false;
  vk_check(f.vkWaitForFences(ctx_.device(), 1, &s.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences (upload)");
  vk_check(f.vkResetFences(ctx_.device(), 1, &s.fence), "vkResetFences");
}

void StagedUploader::upload(GpuBuffer& dst, uint64_t offset, const void* src, uint64_t bytes) {
  if (offset > dst.size() || bytes > dst.size() - offset)
    fail("GPU upload of ", bytes, " bytes at ", offset, " past a ", dst.size(), "-byte buffer");
  if (dst.mapped() != nullptr) {
    dst.upload(src, bytes, offset);
    return;
  }
  upload(dst.handle(), offset, src, bytes);
}

void StagedUploader::upload(VkBuffer dst, uint64_t offset, const void* src, uint64_t bytes) {
  const VulkanFns& f = ctx_.fn();
  const auto* p = static_cast<const uint8_t*>(src);
  for (uint64_t done = 0; done < bytes;) {
    Slot& s = slots_[next_];
    next_ = (next_ + 1) % slots_.size();
    wait(s);  // its previous copy is done, so its staging buffer and command buffer are free
    if (s.staging.handle() == VK_NULL_HANDLE) {
      s.staging = GpuBuffer(ctx_, chunk_, BufferPlace::HostVisible);
      VkCommandBufferAllocateInfo ai{};
      ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
      ai.commandPool = pool_;
      ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
      ai.commandBufferCount = 1;
      vk_check(f.vkAllocateCommandBuffers(ctx_.device(), &ai, &s.cb), "vkAllocateCommandBuffers (upload)");
      VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, nullptr, 0};
      vk_check(f.vkCreateFence(ctx_.device(), &fi, nullptr, &s.fence), "vkCreateFence (upload)");
    }
    const uint64_t n = std::min(chunk_, bytes - done);
    s.staging.upload(p + done, n);
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vk_check(f.vkBeginCommandBuffer(s.cb, &bi), "vkBeginCommandBuffer (upload)");
    const VkBufferCopy copy{0, offset + done, n};
    f.vkCmdCopyBuffer(s.cb, s.staging.handle(), dst, 1, &copy);
    vk_check(f.vkEndCommandBuffer(s.cb), "vkEndCommandBuffer (upload)");
    VkSubmitInfo si{};
    si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &s.cb;
    vk_check(f.vkQueueSubmit(queue_, 1, &si, s.fence), "vkQueueSubmit (upload)");
    s.busy = true;
    done += n;
    staged_bytes_ += n;
  }
}

void StagedUploader::finish() {
  for (Slot& s : slots_) wait(s);
}

}  // namespace unicorn::hal
#endif
