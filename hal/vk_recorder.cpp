#include "hal/vk_recorder.h"

#ifdef UNICORN_HAVE_VULKAN
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "base/error.h"

namespace unicorn::hal {

namespace {
constexpr uint32_t kSetsPerPool = 256;
constexpr size_t kMaxCachedSets = 8192;
constexpr uint32_t kMaxTimedDispatches = 4096;  // a Gemma 3n prefill records ~1,400
}  // namespace

CommandRecorder::CommandRecorder(const VulkanContext& ctx, GpuTiming timing) : ctx_(ctx) {
  const VulkanFns& f = ctx.fn();
  if (const char* e = std::getenv("UNICORN_VK_SUBMIT_EVERY")) submit_every_ = static_cast<uint32_t>(std::atoi(e));
  if (const char* e = std::getenv("UNICORN_VK_SUBMIT_FIRST")) first_flush_ = std::max(1, std::atoi(e));
  // A device that is the CPU (lavapipe) needs the cores a polling wait would take.
  spin_wait_ = !ctx.is_cpu_device();
  if (const char* e = std::getenv("UNICORN_VK_SPIN_WAIT")) spin_wait_ = std::string(e) != "0";
  if (timing != GpuTiming::Off && ctx.has_timestamps()) {
    timing_ = timing;
    VkQueryPoolCreateInfo qi{};
    qi.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = timing == GpuTiming::Span ? 2 : 2 * kMaxTimedDispatches;
    vk_check(f.vkCreateQueryPool(ctx.device(), &qi, nullptr, &queries_), "vkCreateQueryPool");
    max_queries_ = qi.queryCount;
  }
}

CommandRecorder::~CommandRecorder() {
  const VulkanFns& f = ctx_.fn();
  if (recording_) f.vkEndCommandBuffer(cb_);
  if (submitted_any_) f.vkQueueWaitIdle(ctx_.queue());  // command buffers in flight must not be freed
  if (!cbs_.empty()) {
    f.vkFreeCommandBuffers(ctx_.device(), ctx_.command_pool(), static_cast<uint32_t>(cbs_.size()), cbs_.data());
  }
  for (VkFence fence : fences_) f.vkDestroyFence(ctx_.device(), fence, nullptr);
  for (VkDescriptorPool p : pools_) f.vkDestroyDescriptorPool(ctx_.device(), p, nullptr);
  if (queries_ != VK_NULL_HANDLE) f.vkDestroyQueryPool(ctx_.device(), queries_, nullptr);
}

void CommandRecorder::begin() {
  const VulkanFns& f = ctx_.fn();
  if (used_cbs_ == cbs_.size()) {
    VkCommandBufferAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    ai.commandPool = ctx_.command_pool();
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, nullptr, 0};
    VkFence fence = VK_NULL_HANDLE;
    vk_check(f.vkCreateFence(ctx_.device(), &fi, nullptr, &fence), "vkCreateFence");
    fences_.push_back(fence);
    VkCommandBuffer cb = VK_NULL_HANDLE;
    vk_check(f.vkAllocateCommandBuffers(ctx_.device(), &ai, &cb), "vkAllocateCommandBuffers");
    cbs_.push_back(cb);
  }
  cb_ = cbs_[used_cbs_++];
  VkCommandBufferBeginInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(f.vkBeginCommandBuffer(cb_, &bi), "vkBeginCommandBuffer");
  if (queries_ != VK_NULL_HANDLE && used_cbs_ == 1) {
    f.vkCmdResetQueryPool(cb_, queries_, 0, max_queries_);
    if (timing_ == GpuTiming::Span) f.vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, 0);
  }
  recording_ = true;
  since_flush_ = 0;
  // The first command buffers are short so the GPU starts early; later ones grow to submit_every_.
  flush_at_ = std::min<uint32_t>(submit_every_, first_flush_ << std::min<size_t>(used_cbs_ - 1, 8));
}

void CommandRecorder::flush() {
  vk_check(ctx_.fn().vkEndCommandBuffer(cb_), "vkEndCommandBuffer");
  recording_ = false;
  ctx_.submit(cb_, fences_[used_cbs_ - 1]);
  submitted_cbs_ = static_cast<uint32_t>(used_cbs_);
  submitted_any_ = true;
}

VkDescriptorSet CommandRecorder::allocate_set(VkDescriptorSetLayout layout) {
  const VulkanFns& f = ctx_.fn();
  for (;;) {
    if (pool_in_use_ == pools_.size()) {
      // Pools sized for kSetsPerPool sets of up to 8 buffers; a new one is added when one runs full.
      VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 8 * kSetsPerPool};
      VkDescriptorPoolCreateInfo pi{};
      pi.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
      pi.maxSets = kSetsPerPool;
      pi.poolSizeCount = 1;
      pi.pPoolSizes = &size;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      vk_check(f.vkCreateDescriptorPool(ctx_.device(), &pi, nullptr, &pool), "vkCreateDescriptorPool");
      pools_.push_back(pool);
    }
    VkDescriptorSetAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
    ai.descriptorPool = pools_[pool_in_use_];
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    const VkResult r = f.vkAllocateDescriptorSets(ctx_.device(), &ai, &set);
    if (r == VK_SUCCESS) return set;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) vk_check(r, "vkAllocateDescriptorSets");
    ++pool_in_use_;
  }
}

void CommandRecorder::dispatch(const ComputePipeline& pipeline, std::initializer_list<BufferRange> buffers,
                               const void* push, uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y,
                               uint32_t groups_z, const std::string& label) {
  if (buffers.size() != pipeline.n_buffers()) {
    fail(pipeline.name(), ": dispatch with ", buffers.size(), " buffers, the shader binds ", pipeline.n_buffers());
  }
  if (push_bytes != pipeline.push_bytes()) {
    fail(pipeline.name(), ": dispatch with ", push_bytes, " bytes of push constants, the shader takes ",
         pipeline.push_bytes());
  }
  const auto& lim = ctx_.properties().limits.maxComputeWorkGroupCount;
  if (groups_x == 0 || groups_y == 0 || groups_z == 0 || groups_x > lim[0] || groups_y > lim[1] || groups_z > lim[2]) {
    fail(pipeline.name(), ": dispatch of ", groups_x, "x", groups_y, "x", groups_z,
         " workgroups is outside the device's limits");
  }
  if (!recording_) begin();
  const VulkanFns& f = ctx_.fn();
  std::vector<uint64_t> key;
  key.reserve(1 + 3 * buffers.size());
  key.push_back(reinterpret_cast<uint64_t>(pipeline.set_layout()));
  for (const BufferRange& b : buffers) {
    key.push_back(b.buffer->id());
    key.push_back(b.offset);
    key.push_back(b.bytes);
  }
  VkDescriptorSet& set = set_cache_[key];
  if (set == VK_NULL_HANDLE) {
    set = allocate_set(pipeline.set_layout());
    std::vector<VkDescriptorBufferInfo> infos;
    infos.reserve(buffers.size());
    for (const BufferRange& b : buffers) infos.push_back({b.buffer->handle(), b.offset, b.bytes});
    std::vector<VkWriteDescriptorSet> writes(infos.size());
    for (size_t i = 0; i < infos.size(); ++i) {
      writes[i] = VkWriteDescriptorSet{};
      writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
      writes[i].dstSet = set;
      writes[i].dstBinding = static_cast<uint32_t>(i);
      writes[i].descriptorCount = 1;
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[i].pBufferInfo = &infos[i];
    }
    f.vkUpdateDescriptorSets(ctx_.device(), static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
  }

  const bool timed = timing_ == GpuTiming::PerDispatch && 2 * (labels_.size() + 1) <= max_queries_;
  if (timed) {
    f.vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, static_cast<uint32_t>(2 * labels_.size()));
  }
  f.vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle());
  f.vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout(), 0, 1, &set, 0, nullptr);
  if (push_bytes > 0) f.vkCmdPushConstants(cb_, pipeline.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  f.vkCmdDispatch(cb_, groups_x, groups_y, groups_z);
  if (timed) {
    f.vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries_,
                          static_cast<uint32_t>(2 * labels_.size() + 1));
    labels_.push_back(label.empty() ? pipeline.name() : label);
  }
  // Later dispatches may read what this one wrote (and overwrite what it read).
  if (concurrent_) barrier_pending_ = true;
  else barrier();
  ++n_dispatches_;
  if (!concurrent_ && submit_every_ > 0 && ++since_flush_ >= flush_at_) flush();
}

void CommandRecorder::barrier() {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                     VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  ctx_.fn().vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                                 &mb, 0, nullptr, 0, nullptr);
  barrier_pending_ = false;
}

void CommandRecorder::end_concurrent() {
  concurrent_ = false;
  if (barrier_pending_ && recording_) barrier();
  barrier_pending_ = false;
}

void CommandRecorder::copy_rows(const GpuBuffer& src, uint64_t src_offset, uint64_t src_stride, const GpuBuffer& dst,
                                uint64_t dst_offset, uint64_t dst_stride, uint64_t bytes, uint32_t count) {
  if (bytes == 0 || count == 0) return;
  const uint64_t src_end = src_offset + src_stride * (count - 1) + bytes;
  const uint64_t dst_end = dst_offset + dst_stride * (count - 1) + bytes;
  if (src_end > src.size() || dst_end > dst.size()) {
    fail("GPU copy of ", count, " x ", bytes, " bytes from ", src_offset, " (of ", src.size(), ") to ", dst_offset,
         " (of ", dst.size(), ") is out of range");
  }
  if (!recording_) begin();
  // The copy reads what earlier dispatches wrote; later dispatches read what it wrote.
  transfer_barrier();
  std::vector<VkBufferCopy> regions(count);
  for (uint32_t i = 0; i < count; ++i) regions[i] = {src_offset + i * src_stride, dst_offset + i * dst_stride, bytes};
  ctx_.fn().vkCmdCopyBuffer(cb_, src.handle(), dst.handle(), count, regions.data());
  transfer_barrier();
}

void CommandRecorder::fill(const GpuBuffer& dst, uint64_t offset, uint64_t bytes, uint32_t value) {
  if (bytes == 0) return;
  if (offset % 4 != 0 || bytes % 4 != 0 || offset + bytes > dst.size()) {
    fail("GPU fill of ", bytes, " bytes at ", offset, " (of ", dst.size(), ") is misaligned or out of range");
  }
  if (!recording_) begin();
  transfer_barrier();
  ctx_.fn().vkCmdFillBuffer(cb_, dst.handle(), offset, bytes, value);
  transfer_barrier();
}

void CommandRecorder::transfer_barrier() {
  const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  const VkAccessFlags access = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                               VK_ACCESS_TRANSFER_WRITE_BIT;
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, access, access};
  ctx_.fn().vkCmdPipelineBarrier(cb_, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void CommandRecorder::trim_set_cache() {
  // Sets of buffers that were since freed are never looked up again; past this many, start over.
  if (set_cache_.size() < kMaxCachedSets) return;
  set_cache_.clear();
  for (VkDescriptorPool p : pools_) ctx_.fn().vkResetDescriptorPool(ctx_.device(), p, 0);
  pool_in_use_ = 0;
}

void CommandRecorder::reset_batch() {
  const VulkanFns& f = ctx_.fn();
  // Every used fence was submitted and the batch is over (waited for, or the queue idle): they are signaled or
  // about to be; waiting first keeps vkResetFences off a fence still pending.
  if (submitted_cbs_ > 0) {
    vk_check(f.vkWaitForFences(ctx_.device(), submitted_cbs_, fences_.data(), VK_TRUE, UINT64_MAX), "vkWaitForFences");
    vk_check(f.vkResetFences(ctx_.device(), submitted_cbs_, fences_.data()), "vkResetFences");
    submitted_cbs_ = 0;
  }
  labels_.clear();
  n_dispatches_ = 0;
  concurrent_ = barrier_pending_ = false;
  submitted_any_ = false;
  trim_set_cache();
  for (size_t i = 0; i < used_cbs_; ++i) vk_check(f.vkResetCommandBuffer(cbs_[i], 0), "vkResetCommandBuffer");
  used_cbs_ = 0;
  cb_ = VK_NULL_HANDLE;
}

void CommandRecorder::discard() {
  if (!recording_ && !submitted_any_) return;
  const VulkanFns& f = ctx_.fn();
  if (recording_) f.vkEndCommandBuffer(cb_);  // its result does not matter: the buffer is reset unsubmitted
  recording_ = false;
  // What was submitted already runs to its end (it only writes the model's scratch and cache rows past the valid
  // ones); its command buffers are reset after it.
  if (submitted_any_) vk_check(f.vkQueueWaitIdle(ctx_.queue()), "vkQueueWaitIdle");
  reset_batch();
}

void CommandRecorder::submit_and_wait() {
  timings_.clear();
  if (!recording_ && !submitted_any_) return;
  if (!recording_) begin();  // everything was flushed: one more buffer carries the closing barrier and the fence
  const VulkanFns& f = ctx_.fn();
  // Results become visible to host reads (mapped buffers) and to transfers (staged downloads). The barrier's first
  // scope is everything earlier in submission order, so it covers the buffers flushed before this one.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                     VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                     VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT};
  f.vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0,
                         nullptr);
  if (timing_ == GpuTiming::Span) f.vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, 1);
  recording_ = false;
  vk_check(f.vkEndCommandBuffer(cb_), "vkEndCommandBuffer");
  try {
    ctx_.submit(cb_, fences_[used_cbs_ - 1]);
    submitted_cbs_ = static_cast<uint32_t>(used_cbs_);
    submitted_any_ = true;
    wait_for_batch();
  } catch (...) {
    f.vkQueueWaitIdle(ctx_.queue());
    reset_batch();
    throw;
  }
  last_span_ms_ = 0;
  const uint32_t n_ticks = timing_ == GpuTiming::Span ? 2 : static_cast<uint32_t>(2 * labels_.size());
  if (n_ticks > 0) {
    std::vector<uint64_t> ticks(n_ticks);
    vk_check(f.vkGetQueryPoolResults(ctx_.device(), queries_, 0, n_ticks, ticks.size() * sizeof(uint64_t),
                                     ticks.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
             "vkGetQueryPoolResults");
    const double ms_per_tick = ctx_.timestamp_period_ns() * 1e-6;
    for (size_t i = 0; i < labels_.size(); ++i)
      timings_.push_back({labels_[i], static_cast<double>(ticks[2 * i + 1] - ticks[2 * i]) * ms_per_tick});
    last_span_ms_ = static_cast<double>(ticks.back() - ticks.front()) * ms_per_tick;
  }
  reset_batch();
}

void CommandRecorder::wait_for_batch() {
  const VulkanFns& f = ctx_.fn();
  const auto t0 = std::chrono::steady_clock::now();
  const VkFence last = fences_[used_cbs_ - 1];
  if (!spin_wait_) {
    vk_check(f.vkWaitForFences(ctx_.device(), 1, &last, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  } else {
    // Sleep through the early part of the batch, then poll: the GPU has at most one command buffer left.
    if (used_cbs_ >= 2) {
      vk_check(f.vkWaitForFences(ctx_.device(), 1, &fences_[used_cbs_ - 2], VK_TRUE, UINT64_MAX), "vkWaitForFences");
    }
    for (uint64_t polls = 0;; ++polls) {
      const VkResult r = f.vkGetFenceStatus(ctx_.device(), last);
      if (r == VK_SUCCESS) break;
      if (r != VK_NOT_READY) vk_check(r, "vkGetFenceStatus");
#if defined(__x86_64__) || defined(__i386__)
      for (int i = 0; i < 16; ++i) _mm_pause();
#endif
      if (polls % 64 == 63) std::this_thread::yield();
    }
  }
  last_wait_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace unicorn::hal
#endif
