#version 450
// Test input of hal/spirv_coopmat (tests/hal/test_spirv_coopmat.cpp), not a kernel: one 16x16x16 cooperative
// mat-mul in the SPV_NV_cooperative_matrix form that glslc compiles, d = alpha * (a * b + c) with f16 A and B and
// f32 C/D. A is row-major in a storage buffer, B column-major in a storage buffer staged through shared memory (as
// the real kernels stage their tiles), C row-major and D column-major; len[0] = the per-invocation length of D.
// The dimensions are distinct specialization constants so that A and B are distinct SPIR-V types (each type
// takes one cooperative-matrix use in SPV_KHR_cooperative_matrix). glslang writes .length() as an OpSpecConstantOp,
// which Mesa's SPIR-V front end (RADV) cannot evaluate: a test input, not a shader to build pipelines from there.
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require

layout(local_size_x = 32) in;

layout(constant_id = 0) const uint CM_M = 16;
layout(constant_id = 1) const uint CM_N = 16;
layout(constant_id = 2) const uint CM_K_A = 16;
layout(constant_id = 3) const uint CM_K_B = 16;

layout(std430, binding = 0) readonly buffer BufA { float16_t a[]; };
layout(std430, binding = 1) readonly buffer BufB { float16_t b[]; };
layout(std430, binding = 2) readonly buffer BufC { float c[]; };
layout(std430, binding = 3) writeonly buffer BufD { float d[]; };
layout(std430, binding = 4) writeonly buffer BufLen { uint len[]; };
layout(push_constant) uniform Push { float alpha; } pc;

shared float16_t b_tile[16 * 16];

void main() {
  const uint lane = gl_LocalInvocationID.x;
  for (uint i = lane; i < 16 * 16; i += 32) b_tile[i] = b[i];
  barrier();

  // 3 = subgroup scope (gl_ScopeSubgroup without GL_KHR_memory_scope_semantics).
  fcoopmatNV<16, 3, CM_M, CM_K_A> ma;
  fcoopmatNV<16, 3, CM_K_B, CM_N> mb;
  fcoopmatNV<32, 3, CM_M, CM_N> mc;
  coopMatLoadNV(ma, a, 0, 16, false);
  coopMatLoadNV(mb, b_tile, 0, 16, true);
  coopMatLoadNV(mc, c, 0, 16, false);
  mc = coopMatMulAddNV(ma, mb, mc);
  mc = mc * pc.alpha;
  coopMatStoreNV(mc, d, 0, 16, true);
  if (lane == 0) len[0] = uint(mc.length());
}
