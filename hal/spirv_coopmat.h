#pragma once
// SPV_NV_cooperative_matrix -> SPV_KHR_cooperative_matrix, on SPIR-V words: glslc of Debian 12 (shaderc 2023.2)
// compiles only GL_NV_cooperative_matrix, and drivers such as RADV expose only VK_KHR_cooperative_matrix.
//
// What changes (opcodes and operand orders from SPIRV-Headers' spirv.core.grammar.json; semantics from the
// SPIRV-Registry texts of both extensions):
// - OpCapability CooperativeMatrixNV (5357) -> CooperativeMatrixKHR (6022); OpExtension "SPV_NV_cooperative_matrix"
//   -> "SPV_KHR_cooperative_matrix".
// - OpTypeCooperativeMatrixNV (5358) -> OpTypeCooperativeMatrixKHR (4456) with a Use operand. The rule for the use:
//   in every OpCooperativeMatrixMulAddNV, the result's and C's types are MatrixAccumulatorKHR, A's type MatrixAKHR,
//   B's type MatrixBKHR; then a use crosses every conversion between two cooperative-matrix types (OpFConvert,
//   OpSConvert, OpUConvert, OpConvert*To*, OpBitcast: the KHR form requires both sides to have the same use). A
//   type given two uses, or none, is an Error: declare A and B with distinct types even when their shapes match
//   (e.g. distinct specialization constants for their dimensions).
// - OpCooperativeMatrixLoadNV/StoreNV (5359/5360) -> LoadKHR/StoreKHR (4457/4458): the ColumnMajor bool constant
//   becomes a MemoryLayout constant (RowMajorKHR 0, ColumnMajorKHR 1) placed before Stride; memory operands copied.
//   A ColumnMajor that is not OpConstantTrue/OpConstantFalse (e.g. a specialization constant) is an Error.
// - OpCooperativeMatrixMulAddNV (5361) -> MulAddKHR (4459); with integer components, the Matrix{A,B,C,Result}
//   SignedComponentsKHR operands are set from the component types' signedness (what NV implied; KHR treats integer
//   components as unsigned unless told).
// - OpCooperativeMatrixLengthNV (5362) -> LengthKHR (4460), also as the opcode of an OpSpecConstantOp (glslang
//   emits every .length() that way; SPIRV-Tools accepts LengthKHR there). Mesa's spirv_to_nir (RADV) evaluates no
//   cooperative-matrix length in an OpSpecConstantOp (it fails with "No NIR equivalent"), so kernels meant for
//   RADV should not use .length().
// The Use and MemoryLayout constants reuse OpConstants of a 32-bit integer type declared before the first
// cooperative-matrix type, or are added right before it (new ids; the header's bound grows).
//
// What the KHR extension requires besides (its Dependencies, revision 10): SPIR-V 1.3 (earlier revisions said
// 1.6; glslc --target-env=vulkan1.1 emits 1.3), and, with the Shader capability, the Vulkan memory model. NV
// requires the Vulkan memory model too and glslang declares it for every NV cooperative-matrix shader, so the
// converter only checks both (Error when missing). The device must enable VkPhysicalDeviceVulkanMemoryModel-
// Features::vulkanMemoryModel and VK_KHR_cooperative_matrix's cooperativeMatrix feature.
#include <cstdint>
#include <span>
#include <vector>

namespace unicorn::hal {

// True when words is a SPIR-V module whose preamble declares OpCapability CooperativeMatrixNV; false for anything
// else, malformed input included (never throws).
bool spirv_uses_coopmat_nv(std::span<const uint32_t> words);

// The SPV_KHR_cooperative_matrix equivalent of a SPV_NV_cooperative_matrix module (rules above); a well-formed
// module without the NV capability comes back unchanged. Throws Error (one line, starting "SPIR-V: ") for a bad
// header, an instruction with word count 0 or past the end, and anything it cannot convert.
std::vector<uint32_t> spirv_coopmat_nv_to_khr(std::span<const uint32_t> words);

}  // namespace unicorn::hal
