// Shared by the compute shaders: workgroup size as specialization constant 0, reductions over the workgroup with
// subgroup operations (one partial per subgroup in shared memory), byte access into uint32-word buffers.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
#include "grid.glsl"

shared float wg_partial[WG_SIZE];

// Sum of v over the workgroup; every invocation gets the result. Contains barriers: call from uniform control flow.
float wg_sum(float v) {
  const float s = subgroupAdd(v);
  if (subgroupElect()) wg_partial[gl_SubgroupID] = s;
  barrier();
  float total = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; ++i) total += wg_partial[i];
  barrier();
  return total;
}

float wg_max(float v) {
  const float s = subgroupMax(v);
  if (subgroupElect()) wg_partial[gl_SubgroupID] = s;
  barrier();
  float total = wg_partial[0];
  for (uint i = 1; i < gl_NumSubgroups; ++i) total = max(total, wg_partial[i]);
  barrier();
  return total;
}

// A norm's weight factor by mode (RmsWeight): 1 w, 2 1 + w (Gemma), otherwise 1.
float gain(uint mode, float w) { return mode == 1u ? w : (mode == 2u ? 1.0 + w : 1.0); }
