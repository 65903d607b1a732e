#pragma once
// Argument checks shared by the VulkanKernels entry points (vk_kernels.cpp, vk_kernels_batched.cpp); internal to hal/.
#ifdef UNICORN_HAVE_VULKAN
#include <cstdint>

#include "base/dtype.h"
#include "base/error.h"
#include "hal/vk_buffer.h"

namespace unicorn::hal {

// Checks a weight matrix's placement for the byte-addressing shaders; returns its row size in bytes.
inline uint64_t check_weights(const char* op, DType dtype, const GpuBuffer& w, uint64_t w_offset, uint32_t rows,
                       uint32_t cols) {
  if (rows == 0 || cols == 0) fail("Vulkan ", op, ": empty shape");
  const uint64_t row_bytes = dtype_row_bytes(dtype, cols);  // throws when cols is not a multiple of the block
  if (cols % 32 != 0) fail("Vulkan ", op, ": cols ", cols, " is not a multiple of 32");
  const uint64_t end = w_offset + row_bytes * rows;
  if (end > w.size()) {
    fail("Vulkan ", op, ": ", rows, "x", cols, " ", dtype_name(dtype), " at byte ", w_offset, " runs past the ",
         w.size(), "-byte weight buffer");
  }
  // The shaders address bytes with 32-bit arithmetic; F32 rows are read as words and must be word-aligned.
  if (end > 0xffffffffull) fail("Vulkan ", op, ": weight range ends past 4 GiB (byte ", end, ")");
  if (w_offset % 4 != 0) fail("Vulkan ", op, ": weight offset ", w_offset, " is not a multiple of 4");
  return row_bytes;
}

inline void need_floats(const GpuBuffer& b, uint64_t n, const char* what) {
  if (b.size() < n * sizeof(float)) fail(what, ": buffer of ", b.size(), " bytes holds fewer than ", n, " floats");
}

}  // namespace unicorn::hal
#endif
