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

// Split rows: with split > 1 slices per row (slices s .. s + split - 1 of a workgroup, s a multiple of split), the
// row's total from each slice's slice_sum, valid in lane 0 of the row's first slice. Call from uniform control flow.
shared float split_part[32];
float split_combine(float partial, uint slice, uint lane, uint split) {
  if (split == 1u) return partial;
  if (lane == 0u) split_part[slice] = partial;
  barrier();
  float total = 0.0;
  if (slice % split == 0u)
    for (uint j = 0; j < split; ++j) total += split_part[slice + j];
  return total;
}
