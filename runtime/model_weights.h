#pragma once
// Binds the tensors of a ModelSource (HF or GGUF names) to the roles of a transformer, checking every shape.
#include <cstdint>
#include <string>
#include <vector>

#include "formats/model_source.h"
#include "formats/tensor.h"
#include "kernels/matmul.h"
#include "runtime/model_config.h"

namespace unicorn {

// Weights of one decoder layer. Matrices are views into the mapped file ([out, in], used in place, checked once
// here so the per-token matmuls do no validation); the small vectors and coefficient matrices are floats.
struct LayerWeights {
  using Matrix = kernels::WeightMatrix;
  Matrix wq, wk, wv, wo;  // wk/wv are empty (data == nullptr) for layers that share another layer's KV
  Matrix w_gate, w_up, w_down;
  std::vector<float> attn_norm, post_attn_norm, ffn_norm, post_ffn_norm, q_norm, k_norm;
  // Gemma 3n.
  Matrix laurel_left, laurel_right, per_layer_gate, per_layer_proj;
  std::vector<float> laurel_norm, per_layer_post_norm;
  std::vector<float> altup_router_norm, altup_router;  // router: [altup_inputs, hidden]
  std::vector<float> altup_predict;                    // [altup_inputs^2, altup_inputs]
  std::vector<float> altup_correct;                    // [altup_inputs, altup_inputs], clipped
  std::vector<float> altup_out_scale;                  // [hidden]
};

// ModelWeights: views into the ModelSource it was bound from (which must outlive it); immutable after bind.
struct ModelWeights {
  using Matrix = kernels::WeightMatrix;
  Matrix embed;           // [vocab, hidden]
  Matrix lm_head;         // [vocab, hidden] (the embedding itself when tied)
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
  std::vector<float> rope_freq_factors;  // GGUF rope_freqs.weight (Llama 3 scaling baked as divisors), or empty
  // Gemma 3n.
  Matrix per_layer_embed;                // [per_layer_vocab, n_layers * per_layer_dim]
  Matrix per_layer_model_proj;           // [n_layers * per_layer_dim, hidden]
  std::vector<float> per_layer_proj_norm;
  std::vector<Matrix> altup_proj, altup_unembed;  // altup_inputs - 1 matrices [hidden, hidden] each
  uint64_t bytes = 0;                    // stored bytes of every tensor bound
};

// Throws Error naming the tensor and the file when one is missing, has the wrong shape or an unusable type.
// May fill cfg.vocab_size from the embedding when the metadata did not give it.
ModelWeights bind_weights(const ModelSource& src, ModelConfig& cfg);

}  // namespace unicorn
