#pragma once
// Quantization mixes ("recipes"): which stored type each tensor of a model gets, following llama.cpp's
// llama-quantize rules (src/llama-quant.cpp, llama_tensor_get_type) for the mixes Unicorn writes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/dtype.h"

namespace unicorn::quant {

enum class QuantMix { Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0, F16, BF16 };

// Parses "q4km", "q5km", "q6k", "q8_0", "q4_0", "f16", "bf16" (case-insensitive; a leading "--" and the
// llama.cpp spellings "q4_k_m", "q5_k_m", "q6_k", "q4_k" (= Q4_K_M), "q5_k" (= Q5_K_M) are accepted too).
std::optional<QuantMix> parse_quant_mix(std::string_view name);
// Throws Error listing the accepted names.
QuantMix parse_quant_mix_or_throw(std::string_view name);
// Canonical short name ("q4km", ...).
const char* quant_mix_name(QuantMix mix);
// llama.cpp's name ("Q4_K_M", ...), as llama-quantize prints it.
const char* quant_mix_llama_name(QuantMix mix);
// The type most tensors get.
DType quant_mix_base_type(QuantMix mix);
// GGUF general.file_type (llama_ftype) value: Q4_K_M 15, Q5_K_M 17, Q6_K 18, Q8_0 7, Q4_0 2, F16 1, BF16 32.
uint32_t quant_mix_gguf_file_type(QuantMix mix);

enum class TensorKind {
  token_embd,            // token_embd.weight, and Gemma 3n's per_layer_token_embd.weight
  output,                // output.weight (the LM head)
  attn_q,
  attn_k,
  attn_v,
  attn_qkv,              // fused QKV
  attn_output,
  ffn_gate,
  ffn_up,
  ffn_down,
  norm,                  // norms and every 1-D tensor: always F32
  keep,                  // 2-D tensors llama-quantize never quantizes (Gemma 3n altup/laurel/per_layer_model_proj,
                         // position embeddings, MoE gates): they keep TensorRole::unquantized_type
  other,                 // any other 2-D weight: gets the mix's base type
};

struct TensorRole {
  TensorKind kind = TensorKind::other;
  // For attn_v: index of this tensor among the model's attn_v tensors and their count; for ffn_down: the layer
  // index and the number of layers (llama.cpp counts attn_v tensors and uses n_layer for ffn_down; for models
  // with one of each per block both are the block index and the block count).
  int layer = 0;
  int n_layers = 1;
  int64_t rows = 0;  // GGUF ne[1]
  int64_t cols = 0;  // GGUF ne[0], the row width that must be a multiple of the block size
  // token_embd only: the model has no output.weight and uses the embedding as its LM head (tied embeddings,
  // e.g. Gemma 3); llama.cpp then quantizes token_embd like the output tensor.
  bool tied_output = false;
  // Type used for TensorKind::keep (what the unquantized source or convert_hf_to_gguf would store).
  DType unquantized_type = DType::F16;
};

// Type of one tensor under a mix.
DType choose_tensor_type(QuantMix mix, const TensorRole& role);

// Kind of a tensor from its GGUF name ("blk.3.attn_v.weight"), using the same substring rules as llama.cpp;
// n_dims is the tensor's number of dimensions (1-D tensors are norms/biases: TensorKind::norm).
TensorKind tensor_kind_from_gguf_name(std::string_view name, int n_dims);
// Block index of "blk.N.*" names, or -1.
int layer_from_gguf_name(std::string_view name);

}  // namespace unicorn::quant
