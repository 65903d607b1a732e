// 32-lane slices of the decode mat-vecs (one output row per slice). With 32-wide subgroups a slice is one subgroup:
// lane and slice come from the subgroup builtins (no assumption about how invocations map to subgroups) and the
// slice's sum is one subgroupAdd. Otherwise lanes are local_id % 32 and the sum goes through shared memory, the
// slice's lane 0 adding the 32 partials.
bool slices_are_subgroups() { return gl_SubgroupSize == 32u; }
uint slice_lane() { return slices_are_subgroups() ? gl_SubgroupInvocationID : gl_LocalInvocationID.x % 32u; }
uint slice_index() { return slices_are_subgroups() ? gl_SubgroupID : gl_LocalInvocationID.x / 32u; }

// The sum of acc over the slice, valid in its lane 0. Call from uniform control flow (it may hold a barrier).
float slice_sum(float acc) {
  if (slices_are_subgroups()) return subgroupAdd(acc);
  wg_partial[gl_LocalInvocationID.x] = acc;
  barrier();
  float total = 0.0;
  if (gl_LocalInvocationID.x % 32u == 0u)
    for (uint i = 0; i < 32u; ++i) total += wg_partial[gl_LocalInvocationID.x + i];
  return total;
}
