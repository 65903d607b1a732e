// Wide-tile mat-mul for long prefill batches: Y[t, r] = sum_c W[r, c] * X[t, c], 128 weight rows x BN tokens
// (BN = 64 or 128) per workgroup of 256 invocations. Per 32-column step, warps 0-3 dequantize the 128 row chunks
// (the type's raw_*.glsl split load, else dequant_chunk of its dq_*.glsl; one row per invocation) while warps 4-7
// load the BN x 32 activations, both loaded into registers one step ahead; then every invocation accumulates an
// 8-row x 4*TN_GROUPS-token block in fp32. The blocks are laid out so that each k reads two vec4 of weights and
// TN_GROUPS vec4 of activations from shared memory: 64 (or 32) FMAs per 4 (or 3) shared loads, which the 4 x 4
// scalar block of matmul_main.glsl (16 per 8) could not reach.
// Warp w of the 8: rows (w % 2) * 64 + {0, 32} + lane_m * 4 + 0..3, tokens g * 64 + (w / 2) * 16 + lane_n * 4 + 0..3
// (lane_m = lane % 8, lane_n = lane / 8, g < TN_GROUPS). Rows and tokens past the ends are zero-filled, not stored.
// Specialization constant 0: TN_GROUPS (1 -> BN 64, 2 -> BN 128).
// Compiled with -DMATH_F16 (NAME_f16math, for the quantized types, on devices with shaderFloat16): the tiles hold
// fp16 and each step's 32 products are summed in fp16 (two per instruction where the GPU pairs them), then added
// to the fp32 accumulators, so rounding grows with 32 terms, not with the row length.
#extension GL_EXT_control_flow_attributes : require
#ifdef MATH_F16
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define TILE4 f16vec4
#define TILE1 float16_t
#else
#define TILE4 vec4
#define TILE1 float
#endif
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint TN_GROUPS = 2;
const uint BM = 128u, BK = 32u;
const uint BN = 64u * TN_GROUPS;

layout(std430, binding = 1) readonly buffer X { float x[]; };
#ifdef SPLIT_K
// Split-K (matmul_wide_split_*.comp): workgroup z of SPLIT_K takes its share of the 32-column steps and adds its
// partial sums into y, which the host zeroed. With 2 parts each output is 0 + a + b in either order: the same
// bits every run. (The including file enables GL_EXT_shader_atomic_float.)
layout(std430, binding = 2) buffer Y { float y[]; };
#else
const uint SPLIT_K = 1u;
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
#endif
#include "matmul_params.glsl"

// [k][row / 4] and [k][token / 4] as vec4, so each operand of the inner loop is one 16-byte shared load.
shared TILE4 w_tile[BK * (BM / 4u)];
shared TILE4 x_tile[BK * (BN / 4u)];

// One tile buffer (buf is always 0 here).
void put_w(uint buf, uint k, uint row, float v) { w_tile[k * (BM / 4u) + row / 4u][row % 4u] = TILE1(v); }
void put_x(uint buf, uint k, uint t, float v) { x_tile[k * (BN / 4u) + t / 4u][t % 4u] = TILE1(v); }
#include "matmul_tile_load.glsl"

uint m4, n4;
vec4 acc[8 * TN_GROUPS];  // [row 0..7][group]: 4 tokens each

// acc += this invocation's block of the tiles' products.
void fma_step() {
#ifdef MATH_F16
  f16vec4 step_acc[8 * TN_GROUPS];
  [[unroll]] for (uint i = 0; i < 8u * TN_GROUPS; ++i) step_acc[i] = f16vec4(0.0hf);
#else
#define step_acc acc
#endif
  [[unroll]] for (uint k = 0; k < BK; ++k) {
    const TILE4 a0 = w_tile[k * (BM / 4u) + m4], a1 = w_tile[k * (BM / 4u) + m4 + 8u];
    [[unroll]] for (uint g = 0; g < TN_GROUPS; ++g) {
      const TILE4 b = x_tile[k * (BN / 4u) + n4 + 16u * g];
      [[unroll]] for (uint r = 0; r < 4u; ++r) {
        step_acc[r * TN_GROUPS + g] += a0[r] * b;
        step_acc[(4u + r) * TN_GROUPS + g] += a1[r] * b;
      }
    }
  }
#ifdef MATH_F16
  [[unroll]] for (uint i = 0; i < 8u * TN_GROUPS; ++i) acc[i] += vec4(step_acc[i]);
#else
#undef step_acc
#endif
}

void main() {
  const uint row0 = gl_WorkGroupID.x * BM;
  tile_load_init(row0, gl_WorkGroupID.y * BN);
  const uint warp = tid / 32u, lane = tid % 32u;
  m4 = (warp % 2u) * 16u + (lane % 8u);  // vec4 index of the first row group (second: + 8)
  n4 = (warp / 2u) * 4u + (lane / 8u);   // vec4 index of the first token group (next: + 16)

  [[unroll]] for (uint i = 0; i < 8u * TN_GROUPS; ++i) acc[i] = vec4(0.0);
  const uint all_chunks = p.cols / BK;
  const uint first_chunk = all_chunks * gl_WorkGroupID.z / SPLIT_K;
  const uint n_chunks = all_chunks * (gl_WorkGroupID.z + 1u) / SPLIT_K;
  for (uint chunk = first_chunk; chunk < n_chunks; ++chunk) {
    if (chunk == first_chunk) load_step(chunk);
    barrier();  // the previous step's reads of the tiles are done
    store_step(chunk, 0u);
    barrier();
    if (chunk + 1u < n_chunks) load_step(chunk + 1u);  // the next step's loads, in flight during the FMAs below
    fma_step();
  }
  [[unroll]] for (uint g = 0; g < TN_GROUPS; ++g) {
    [[unroll]] for (uint j = 0; j < 4u; ++j) {
      const uint tok = tok0 + (n4 + 16u * g) * 4u + j;
      if (tok >= p.n_tokens) continue;
      [[unroll]] for (uint r = 0; r < 8u; ++r) {
        const uint out_row = row0 + (m4 + (r / 4u) * 8u) * 4u + r % 4u;
#ifdef SPLIT_K
        if (out_row < p.rows) atomicAdd(y[tok * p.rows + out_row], acc[r * TN_GROUPS + g][j]);
#else
        if (out_row < p.rows) y[tok * p.rows + out_row] = acc[r * TN_GROUPS + g][j];
#endif
      }
    }
  }
}
