// Shared by the 32-lanes-per-row decode mat-vecs (matvec_q4_k_sg, matvec_q6_k_sg): adds each row's 32 lane sums
// and writes the row. With RESID_NORM (specialization constant 2) the row is added to y instead (the residual
// stream: y += W x), and the workgroup that finishes last for its token (one counter per token) RMS-normalizes the
// whole updated row of y into xn with weight nw: the residual add and the next RMSNorm without another dispatch and
// barrier. Writers publish their rows (memoryBarrierBuffer) before they count in; the last one sees every row. It
// resets the counter for the next dispatch.
layout(constant_id = 2) const uint RESID_NORM = 0;
layout(std430, binding = 2) coherent buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer NW { float nw[]; };
layout(std430, binding = 4) writeonly buffer XN { float xn[]; };
layout(std430, binding = 5) coherent buffer Counters { uint counter[]; };
shared bool sg_last;

void finish_rows(float acc, uint lane, uint row, uint token) {
  wg_partial[gl_LocalInvocationID.x] = acc;
  barrier();
  if (lane == 0u && row < p.rows) {
    float total = 0.0;
    for (uint i = 0; i < 32u; ++i) total += wg_partial[gl_LocalInvocationID.x + i];
    if (RESID_NORM != 0u) total += y[token * p.rows + row];
    y[token * p.rows + row] = total;
  }
  if (RESID_NORM == 0u) return;
  memoryBarrierBuffer();
  barrier();
  if (gl_LocalInvocationID.x == 0u) sg_last = atomicAdd(counter[token], 1u) == gl_NumWorkGroups.x - 1u;
  barrier();
  if (!sg_last) return;  // uniform: one shared flag
  memoryBarrierBuffer();
  const uint base = token * p.rows;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.rows; i += WG_SIZE) ss += y[base + i] * y[base + i];
  const float inv = inversesqrt(wg_sum(ss) / float(p.rows) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.rows; i += WG_SIZE) {
    const float g = p.norm_mode == 2u ? 1.0 + nw[i] : (p.norm_mode == 1u ? nw[i] : 1.0);
    xn[base + i] = y[base + i] * inv * g;
  }
  if (gl_LocalInvocationID.x == 0u) counter[token] = 0u;
}
