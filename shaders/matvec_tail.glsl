// The output side of the 32-lane-slice decode mat-vecs (matvec_q4_k_sg, matvec_q6_k_sg): y at binding 2 and the
// push constants. With TAIL_ADD_RMSNORM the same kernel also runs the add_rmsnorm that follows the product
// (add_rmsnorm_row.glsl, d = y) in whichever workgroup finishes last: each workgroup makes its y visible device-wide,
// then counts itself in counters[p.counter]; the one that counts last (all of y written) runs the tail over every
// token row and puts the counter back to 0 for the next use. No workgroup waits for another, so this needs no
// guarantee that workgroups run concurrently; it saves a dispatch and its barrier (decode is bound by their count).
#ifdef TAIL_ADD_RMSNORM
layout(std430, binding = 2) coherent buffer Y { float y[]; };
layout(std430, binding = 3) buffer Counters { uint counters[]; };
layout(std430, binding = 4) buffer ArnX { float x[]; };
layout(std430, binding = 5) readonly buffer ArnDW { float dw[]; };
layout(std430, binding = 6) readonly buffer ArnD2 { float d2[]; };
layout(std430, binding = 7) readonly buffer ArnD2W { float d2w[]; };
layout(std430, binding = 8) readonly buffer ArnD3 { float d3[]; };
layout(std430, binding = 9) readonly buffer ArnW { float w[]; };
layout(std430, binding = 10) writeonly buffer ArnOut { float outv[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
  uint counter;    // the tail's slot in counters
  uint n;          // add_rmsnorm's fields (add_rmsnorm_row.glsl); n = rows
  float eps;
  uint post_mode;
  uint mode;
  uint d2_mode;
  uint has_d3;
  float scale;
} p;

#define ARN_D(i) y[i]
#include "add_rmsnorm_row.glsl"

shared uint tail_is_last;

// Call from uniform control flow after this invocation's y writes.
void matvec_tail() {
  memoryBarrierBuffer();
  barrier();
  if (gl_LocalInvocationIndex == 0u)
    tail_is_last = atomicAdd(counters[p.counter], 1u) == gl_NumWorkGroups.x * gl_NumWorkGroups.y - 1u ? 1u : 0u;
  barrier();
  if (tail_is_last == 0u) return;
  memoryBarrierBuffer();
  for (uint t = 0u; t < gl_NumWorkGroups.y; ++t) add_rmsnorm_row(t);
  if (gl_LocalInvocationIndex == 0u) counters[p.counter] = 0u;
}
#else
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
} p;
void matvec_tail() {}
#endif
