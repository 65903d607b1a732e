// Grids spread over z: past the device's maxComputeWorkGroupCount[0] (65535 on lavapipe, and on other drivers), a
// grid of row or element workgroups continues in z (VulkanKernels::dispatch_linear). Shaders read their index here.
uint group_x() { return gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
// The invocation's index in a one-dimensional element grid.
uint flat_invocation() { return group_x() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; }
