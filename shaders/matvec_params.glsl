// Push constants of the decode mat-vec kernels (MatvecPush on the host).
layout(push_constant) uniform Params {
  uint rows;       // output rows
  uint cols;       // elements per row (multiple of 256)
  uint row_bytes;  // stored bytes per row
  uint w_offset;   // byte offset of the matrix in the weight buffer
} p;
