#pragma once
// Element-wise and row-wise float operations of the transformer (SIMD with runtime CPU dispatch).
// All functions are thread-safe (no shared state); in-place use (out == x) is allowed where noted.
#include <cstdint>

namespace unicorn::kernels {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * (add_one ? 1 + w[i] : w[i]); w may be null (no weight).
// add_one is Gemma's (1 + weight) convention. out may equal x.
void rmsnorm(const float* x, const float* w, int64_t n, float eps, bool add_one, float* out);
// In place: x[i] = exp(x[i] - max) / sum. Entries equal to -inf become 0 (masked); all -inf gives all 0.
void softmax(float* x, int64_t n);
// out[i] = x[i] * sigmoid(x[i]); out may equal x.
void silu(const float* x, int64_t n, float* out);
// out[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (PyTorch's gelu approximate="tanh"); out may equal x.
void gelu_tanh(const float* x, int64_t n, float* out);
// Gated FFN activations: out[i] = act(gate[i]) * up[i]; out may equal gate or up.
void swiglu(const float* gate, const float* up, int64_t n, float* out);
void geglu_tanh(const float* gate, const float* up, int64_t n, float* out);
// out[i] = a[i] + b[i] (add), a[i] * b[i] (mul); out may equal a or b.
void add(const float* a, const float* b, int64_t n, float* out);
void mul(const float* a, const float* b, int64_t n, float* out);
// x[i] *= s.
void scale(float* x, int64_t n, float s);
// y[i] += a * x[i]  (attention: weighted sum of value rows).
void axpy(float a, const float* x, int64_t n, float* y);
// sum a[i] * b[i]  (attention: query . key).
float dot(const float* a, const float* b, int64_t n);
// Attention over a cached head, one dispatch per call instead of one per key (at a 512-token prefill the
// per-key calls cost more than their arithmetic). Row j of rows starts at rows + j * stride.
// out[j] = dot(q, row j, n) for j < n_rows: bit-identical to calling dot per row.
void dot_rows(const float* q, const float* rows, int64_t stride, int64_t n_rows, int64_t n, float* out);
// y[i] += a[j] * row j[i] for j = 0 .. n_rows - 1 in that order: bit-identical to calling axpy per row, with y
// kept in registers across the rows.
void axpy_rows(const float* a, const float* rows, int64_t stride, int64_t n_rows, int64_t n, float* y);

}  // namespace unicorn::kernels
