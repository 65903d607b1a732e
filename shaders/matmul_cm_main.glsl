// Cooperative-matrix mat-mul for long prefill batches (tensor cores, WMMA): Y[t, r] = sum_c W[r, c] * X[t, c],
// 128 weight rows x BN tokens (BN = 64 or 128) per workgroup of 256 invocations in 8 subgroups of 32. The tiles are
// loaded as in the wide kernel (matmul_tile_load.glsl: 128 invocations dequantize, 128 load activations, one step
// ahead) but held in fp16, and each subgroup multiplies its 32-row x BN/2-token block as 16 x 16 x 16 fp16 products
// with fp32 accumulators. Rounding: weights and activations are rounded to fp16 once (relative 2^-11 each), the sums
// are fp32, so an output is within about 1e-3 of sum |w x| of the exact product (stated bound 4e-3, as the fp16 wide
// kernel's), and activations must stay within fp16's range (|x| < 65504).
// Written with GL_NV_cooperative_matrix, the one Debian 12's glslc knows; on devices with only the KHR extension the
// context converts the SPIR-V (hal/spirv_coopmat.h), which gives each matrix type its use (A, B or accumulator) from
// its place in the multiply-adds: A's and B's dimensions therefore come from distinct specialization constants, so
// that their types stay distinct even where both are 16 x 16 fp16.
// Subgroup w: rows (w % 4) * 32 + 0..31, tokens (w / 4) * BN / 2 + 0..BN/2-1. Shared tiles: A as [k][row]
// (column-major M x K, so the dequantizers' stores of consecutive rows are consecutive halves), B as [k][token]
// (row-major K x N), rows padded by 8 halves so that a fragment's 16 rows start in different banks.
// Specialization constant 0: TN_GROUPS (1 -> BN 64, 2 -> BN 128); 1..4 are the 16s of the fragment shapes.
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_NV_cooperative_matrix : require
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint TN_GROUPS = 2;
layout(constant_id = 1) const uint CM_M = 16;
layout(constant_id = 2) const uint CM_N = 16;
layout(constant_id = 3) const uint CM_K_A = 16;
layout(constant_id = 4) const uint CM_K_B = 16;
const uint BM = 128u, BK = 32u;
const uint BN = 64u * TN_GROUPS;
const uint LDM = BM + 8u, LDN = BN + 8u;  // padded strides (halves) of the A and B tiles
const uint SUBGROUP_SCOPE = 3u;

layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
#include "matmul_params.glsl"

// Two of each tile: step s multiplies buffer s % 2 while the invocations fill the other with step s + 1, so one
// barrier per step and the dequantizing overlaps the products across subgroups (pp512 13,569 against 13,343-13,358
// tok/s single-buffered, H200; docs/PERFORMANCE.md). 42 KiB of shared memory with the staging area (BN 128).
shared float16_t w_tile[2u * BK * LDM];
shared float16_t x_tile[2u * BK * LDN];
shared float out_stage[8u * 256u];  // one 16 x 16 accumulator per subgroup, column-major, on its way to y

void put_w(uint buf, uint k, uint row, float v) { w_tile[(buf * BK + k) * LDM + row] = float16_t(v); }
void put_x(uint buf, uint k, uint t, float v) { x_tile[(buf * BK + k) * LDN + t] = float16_t(v); }
#include "matmul_tile_load.glsl"

const uint TILES_N = 2u * TN_GROUPS;  // 16-token fragments per subgroup
fcoopmatNV<32, SUBGROUP_SCOPE, CM_M, CM_N> acc[2u * TILES_N];
uint wm, wn;

// acc += this subgroup's products of tile buffer buf.
void mma_step(uint buf) {
  [[unroll]] for (uint kk = 0; kk < BK; kk += 16u) {
    fcoopmatNV<16, SUBGROUP_SCOPE, CM_M, CM_K_A> a[2];
    [[unroll]] for (uint i = 0; i < 2u; ++i) {
      coopMatLoadNV(a[i], w_tile, (buf * BK + kk) * LDM + wm + 16u * i, LDM, true);
    }
    [[unroll]] for (uint j = 0; j < TILES_N; ++j) {
      fcoopmatNV<16, SUBGROUP_SCOPE, CM_K_B, CM_N> b;
      coopMatLoadNV(b, x_tile, (buf * BK + kk) * LDN + wn + 16u * j, LDN, false);
      [[unroll]] for (uint i = 0; i < 2u; ++i) acc[i * TILES_N + j] = coopMatMulAddNV(a[i], b, acc[i * TILES_N + j]);
    }
  }
}

void main() {
  const uint row0 = gl_WorkGroupID.x * BM;
  tile_load_init(row0, gl_WorkGroupID.y * BN);
  const uint warp = tid / 32u, lane = tid % 32u;
  wm = (warp % 4u) * 32u;
  wn = (warp / 4u) * (BN / 2u);
  [[unroll]] for (uint i = 0; i < 2u * TILES_N; ++i) acc[i] = fcoopmatNV<32, SUBGROUP_SCOPE, CM_M, CM_N>(0.0);
  const uint n_chunks = p.cols / BK;
  load_step(0u);
  store_step(0u, 0u);
  if (n_chunks > 1u) load_step(1u);
  barrier();
  for (uint chunk = 0; chunk < n_chunks; ++chunk) {
    const uint buf = chunk % 2u;
    if (chunk + 1u < n_chunks) {
      store_step(chunk + 1u, 1u - buf);  // the other buffer: its last reads ended at the previous barrier
      if (chunk + 2u < n_chunks) load_step(chunk + 2u);
    }
    mma_step(buf);
    barrier();
  }
  // Each fragment through this subgroup's staging area, so that the stores to y are bounds-checked and coalesced
  // (consecutive lanes, consecutive rows of one token).
  const uint stage = warp * 256u;
  [[unroll]] for (uint i = 0; i < 2u; ++i) {
    [[unroll]] for (uint j = 0; j < TILES_N; ++j) {
      coopMatStoreNV(acc[i * TILES_N + j], out_stage, stage, 16u, true);
      subgroupMemoryBarrierShared();
      subgroupBarrier();
      [[unroll]] for (uint e = lane; e < 256u; e += 32u) {
        const uint row = row0 + wm + 16u * i + e % 16u, tok = tok0 + wn + 16u * j + e / 16u;
        if (row < p.rows && tok < p.n_tokens) y[tok * p.rows + row] = out_stage[stage + e];
      }
      subgroupBarrier();  // the staging area is read before the next fragment overwrites it
    }
  }
}
