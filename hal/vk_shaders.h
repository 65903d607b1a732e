#pragma once
// SPIR-V of shaders/*.comp, compiled by glslc at build time and embedded (generated vk_spirv_blobs.cpp).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace unicorn::hal {

// One embedded shader: name is the .comp file name without extension ("matvec_q4_k"). Static storage.
struct SpirvBlob {
  const char* name;
  const uint32_t* words;
  size_t size_bytes;
};

// Every embedded shader (only in builds with UNICORN_HAVE_VULKAN).
std::span<const SpirvBlob> embedded_spirv();

// The shader called name; throws Error when there is none.
const SpirvBlob& find_spirv(std::string_view name);

}  // namespace unicorn::hal
