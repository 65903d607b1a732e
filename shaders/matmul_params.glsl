// Push constants of the prefill mat-mul kernels (matmul_main.glsl, matmul_wide_main.glsl; MatmulPush on the host).
layout(push_constant) uniform Params {
  uint rows;       // output rows (rows of W)
  uint cols;       // elements per row (multiple of 32 and of the block size)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
  uint n_tokens;
} p;
