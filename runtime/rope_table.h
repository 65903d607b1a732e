#pragma once
// RoPE cos/sin tables computed once per model from its RopeConfig, shared by the CPU and Vulkan paths.
#include <vector>

#include "runtime/model_config.h"

namespace unicorn {

// RopeTable: plain value; cos/sin of every position for one RoPE flavour, [ctx][head_dim / 2] each (ctx * head_dim
// floats in all; built in O(ctx * head_dim) once at load).
struct RopeTable {
  int half = 0;
  std::vector<float> cos, sin;

  // The table as one row per position of head_dim floats (half cosines, then half sines): what the Vulkan rope
  // shader reads.
  std::vector<float> rows_cos_then_sin() const;
};

// Inverse frequencies as HF computes them in float32 (base^(2i/d), then the scaling rule), each divided by
// divisors[i] when given (GGUF rope_freqs.weight).
std::vector<float> rope_inv_frequencies(const RopeConfig& r, int dim, const std::vector<float>& divisors);
RopeTable make_rope_table(const RopeConfig& r, int dim, int ctx, const std::vector<float>& divisors);

// Rotates one head in place. NEOX/HF style pairs (i, i + d/2); interleaved (GGUF Llama) pairs (2i, 2i + 1).
void apply_rope(float* x, const RopeTable& t, int pos, bool interleaved);

}  // namespace unicorn
