#pragma once
// Row-level conversion between float32 and stored element types (plain and GGML block-quantized).
// Byte layouts are in quant/blocks.h. Quantizers are bit-identical to llama.cpp's reference quantizers
// (quantize_row_*_ref; with an importance matrix, its quantize_*_impl variants), so GGUF files we write
// match those llama-quantize writes for the same float input.
#include <cstdint>
#include <string>

#include "base/dtype.h"

namespace unicorn {
class ThreadPool;
}

namespace unicorn::quant {

// Types this layer converts: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K.
bool is_supported(DType t);

// Converts n elements (one row or several rows back to back) to float32. n must be a multiple of the block size.
// Throws Error for unsupported types or a bad n. Thread-safe, no allocation.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);

// Quantizes n float32 values into dst (dtype_row_bytes(t, n) bytes). importance (n weights, or nullptr) is
// llama.cpp's imatrix: used by Q4_0, Q4_K, Q5_K, Q6_K and ignored by the others.
// Throws Error("non-finite value at index I") for NaN/Inf input (I counts from src). Thread-safe.
void quantize_row(DType t, const float* src, void* dst, int64_t n, const float* importance = nullptr);

// Scalar reference dot product of a stored row with float x: dequantizes, then accumulates in double.
// For tests of the fast kernels; slow.
float dot_reference(DType t, const void* row, const float* x, int64_t n);

// Quantizes a row-major [rows, cols] tensor, splitting rows across the pool (nullptr: this thread only).
// importance has cols weights applied to every row (or nullptr). Errors carry tensor_name in Error::Context.tensor
// and name the row and column of a non-finite value.
void quantize_tensor(DType t, const float* src, int64_t rows, int64_t cols, void* dst, const std::string& tensor_name,
                     ThreadPool* pool, const float* importance = nullptr);

}  // namespace unicorn::quant
