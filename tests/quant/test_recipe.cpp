// Quantization mixes: names, and the per-tensor type rules taken from llama.cpp's llama_tensor_get_type.
#include <set>
#include <string>

#include "base/dtype.h"
#include "base/error.h"
#include "quant/recipe.h"
#include "tests/test_util.h"

using unicorn::DType;
using namespace unicorn::quant;

namespace {

TensorRole role(TensorKind kind, int layer = 0, int n_layers = 16, int64_t cols = 2048, int64_t rows = 2048) {
  TensorRole r;
  r.kind = kind;
  r.layer = layer;
  r.n_layers = n_layers;
  r.rows = rows;
  r.cols = cols;
  return r;
}

}  // namespace

TEST_CASE("quant mix names parse in CLI and llama.cpp spellings", "[quant][recipe]") {
  CHECK(parse_quant_mix("q4km") == QuantMix::Q4_K_M);
  CHECK(parse_quant_mix("--q4km") == QuantMix::Q4_K_M);
  CHECK(parse_quant_mix("Q4_K_M") == QuantMix::Q4_K_M);
  CHECK(parse_quant_mix("q5km") == QuantMix::Q5_K_M);
  CHECK(parse_quant_mix("q6k") == QuantMix::Q6_K);
  CHECK(parse_quant_mix("Q6_K") == QuantMix::Q6_K);
  CHECK(parse_quant_mix("q8_0") == QuantMix::Q8_0);
  CHECK(parse_quant_mix("q4_0") == QuantMix::Q4_0);
  CHECK(parse_quant_mix("f16") == QuantMix::F16);
  CHECK(parse_quant_mix("BF16") == QuantMix::BF16);
  CHECK_FALSE(parse_quant_mix("q3km").has_value());
  CHECK_FALSE(parse_quant_mix("").has_value());
  CHECK_THROWS_WITH(parse_quant_mix_or_throw("q2k"), Catch::Contains("q4km") && Catch::Contains("'q2k'"));
  for (QuantMix m : {QuantMix::Q4_K_M, QuantMix::Q5_K_M, QuantMix::Q6_K, QuantMix::Q8_0, QuantMix::Q4_0,
                     QuantMix::F16, QuantMix::BF16}) {
    CHECK(parse_quant_mix(quant_mix_name(m)) == m);
    CHECK(parse_quant_mix(quant_mix_llama_name(m)) == m);
  }
  CHECK(quant_mix_gguf_file_type(QuantMix::Q4_K_M) == 15);
  CHECK(quant_mix_gguf_file_type(QuantMix::Q5_K_M) == 17);
  CHECK(quant_mix_gguf_file_type(QuantMix::Q6_K) == 18);
  CHECK(quant_mix_gguf_file_type(QuantMix::Q8_0) == 7);
  CHECK(quant_mix_gguf_file_type(QuantMix::Q4_0) == 2);
  CHECK(quant_mix_gguf_file_type(QuantMix::F16) == 1);
  CHECK(quant_mix_gguf_file_type(QuantMix::BF16) == 32);
}

TEST_CASE("Q4_K_M gives Q6_K to attn_v and ffn_down on the use_more_bits layers", "[quant][recipe]") {
  // 16 layers: first eighth {0,1}, last eighth {14,15}, and (i - 2) % 3 == 2 -> {4,7,10,13}.
  const std::set<int> more_bits16 = {0, 1, 4, 7, 10, 13, 14, 15};
  for (int i = 0; i < 16; ++i) {
    INFO("layer " << i);
    const DType want = more_bits16.count(i) ? DType::Q6_K : DType::Q4_K;
    CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(TensorKind::attn_v, i, 16)) == want);
    CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(TensorKind::ffn_down, i, 16)) == want);
    const DType want5 = more_bits16.count(i) ? DType::Q6_K : DType::Q5_K;
    CHECK(choose_tensor_type(QuantMix::Q5_K_M, role(TensorKind::attn_v, i, 16)) == want5);
    CHECK(choose_tensor_type(QuantMix::Q5_K_M, role(TensorKind::ffn_down, i, 16)) == want5);
    for (TensorKind k : {TensorKind::attn_q, TensorKind::attn_k, TensorKind::attn_output, TensorKind::ffn_gate,
                         TensorKind::ffn_up, TensorKind::other}) {
      CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(k, i, 16)) == DType::Q4_K);
      CHECK(choose_tensor_type(QuantMix::Q5_K_M, role(k, i, 16)) == DType::Q5_K);
    }
  }
  // 26 layers (Gemma 3 1B): n/8 = 3, 7n/8 = 22 -> {0,1,2} u {22..25} u {5,8,11,14,17,20}.
  const std::set<int> more_bits26 = {0, 1, 2, 5, 8, 11, 14, 17, 20, 22, 23, 24, 25};
  for (int i = 0; i < 26; ++i) {
    INFO("layer " << i);
    CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(TensorKind::ffn_down, i, 26)) ==
          (more_bits26.count(i) ? DType::Q6_K : DType::Q4_K));
  }
  // Fewer than 8 layers: n/8 = 0, so the rule reduces to i >= 7n/8 or i % 3 == 2.
  const std::set<int> more_bits6 = {2, 5};  // 7*6/8 = 5
  for (int i = 0; i < 6; ++i) {
    INFO("layer " << i);
    CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(TensorKind::attn_v, i, 6)) ==
          (more_bits6.count(i) ? DType::Q6_K : DType::Q4_K));
  }
}

TEST_CASE("output, token_embd and 1-D tensors follow llama-quantize", "[quant][recipe]") {
  for (QuantMix m : {QuantMix::Q4_K_M, QuantMix::Q5_K_M, QuantMix::Q6_K, QuantMix::Q4_0}) {
    INFO(quant_mix_name(m));
    CHECK(choose_tensor_type(m, role(TensorKind::output)) == DType::Q6_K);
    CHECK(choose_tensor_type(m, role(TensorKind::token_embd)) == quant_mix_base_type(m));
    TensorRole tied = role(TensorKind::token_embd);
    tied.tied_output = true;
    CHECK(choose_tensor_type(m, tied) == DType::Q6_K);
    CHECK(choose_tensor_type(m, role(TensorKind::norm, 0, 16, 2048, 1)) == DType::F32);
  }
  CHECK(choose_tensor_type(QuantMix::Q8_0, role(TensorKind::output)) == DType::Q8_0);
  CHECK(choose_tensor_type(QuantMix::Q8_0, role(TensorKind::attn_v, 0)) == DType::Q8_0);
  CHECK(choose_tensor_type(QuantMix::Q8_0, role(TensorKind::ffn_down, 0)) == DType::Q8_0);
  CHECK(choose_tensor_type(QuantMix::Q6_K, role(TensorKind::attn_v, 0)) == DType::Q6_K);
  CHECK(choose_tensor_type(QuantMix::Q4_0, role(TensorKind::attn_v, 0)) == DType::Q4_0);
  CHECK(choose_tensor_type(QuantMix::Q4_0, role(TensorKind::ffn_down, 0)) == DType::Q4_0);
  CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(TensorKind::attn_qkv)) == DType::Q5_K);
  CHECK(choose_tensor_type(QuantMix::Q5_K_M, role(TensorKind::attn_qkv)) == DType::Q6_K);
  for (QuantMix m : {QuantMix::F16, QuantMix::BF16}) {
    const DType base = m == QuantMix::F16 ? DType::F16 : DType::BF16;
    CHECK(choose_tensor_type(m, role(TensorKind::output)) == base);
    CHECK(choose_tensor_type(m, role(TensorKind::attn_v, 0)) == base);
    CHECK(choose_tensor_type(m, role(TensorKind::token_embd, 0, 16, 100)) == base);
    CHECK(choose_tensor_type(m, role(TensorKind::norm)) == DType::F32);
  }
  TensorRole keep = role(TensorKind::keep);
  keep.unquantized_type = DType::BF16;
  CHECK(choose_tensor_type(QuantMix::Q4_K_M, keep) == DType::BF16);
}

TEST_CASE("row widths that do not fit the block fall back", "[quant][recipe]") {
  // 2048+32: not whole super-blocks -> Q8_0 (llama.cpp would use Q5_0/Q5_1, which Unicorn lacks).
  CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(TensorKind::attn_q, 0, 16, 2080)) == DType::Q8_0);
  CHECK(choose_tensor_type(QuantMix::Q5_K_M, role(TensorKind::ffn_up, 0, 16, 2080)) == DType::Q8_0);
  CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(TensorKind::attn_v, 0, 16, 2080)) == DType::Q8_0);
  CHECK(choose_tensor_type(QuantMix::Q6_K, role(TensorKind::ffn_up, 0, 16, 2080)) == DType::Q8_0);
  CHECK(choose_tensor_type(QuantMix::Q4_K_M, role(TensorKind::output, 0, 16, 2080)) == DType::Q8_0);
  CHECK(choose_tensor_type(QuantMix::Q4_0, role(TensorKind::attn_q, 0, 16, 2080)) == DType::Q4_0);
  // Q4_0 output: Q6_K needs 256, so 2080 gets Q8_0 like llama.cpp's Q6_K fallback.
  CHECK(choose_tensor_type(QuantMix::Q4_0, role(TensorKind::output, 0, 16, 2080)) == DType::Q8_0);
  // Not a multiple of 32: F16.
  for (QuantMix m : {QuantMix::Q4_K_M, QuantMix::Q5_K_M, QuantMix::Q6_K, QuantMix::Q8_0, QuantMix::Q4_0}) {
    INFO(quant_mix_name(m));
    CHECK(choose_tensor_type(m, role(TensorKind::attn_q, 0, 16, 100)) == DType::F16);
    CHECK(choose_tensor_type(m, role(TensorKind::output, 0, 16, 100)) == DType::F16);
  }
  // Every quantized choice fits the row.
  for (QuantMix m : {QuantMix::Q4_K_M, QuantMix::Q5_K_M, QuantMix::Q6_K, QuantMix::Q8_0, QuantMix::Q4_0}) {
    for (int64_t cols : {32, 64, 96, 256, 288, 512, 2048, 2080, 2304}) {
      for (TensorKind k : {TensorKind::token_embd, TensorKind::output, TensorKind::attn_v, TensorKind::ffn_down,
                           TensorKind::attn_q}) {
        const DType t = choose_tensor_type(m, role(k, 1, 16, cols));
        CHECK(cols % unicorn::dtype_traits(t).block_elems == 0);
      }
    }
  }
}

TEST_CASE("tensor kinds from GGUF names", "[quant][recipe]") {
  CHECK(tensor_kind_from_gguf_name("token_embd.weight", 2) == TensorKind::token_embd);
  CHECK(tensor_kind_from_gguf_name("per_layer_token_embd.weight", 2) == TensorKind::token_embd);
  CHECK(tensor_kind_from_gguf_name("output.weight", 2) == TensorKind::output);
  CHECK(tensor_kind_from_gguf_name("output_norm.weight", 1) == TensorKind::norm);
  CHECK(tensor_kind_from_gguf_name("blk.0.attn_norm.weight", 1) == TensorKind::norm);
  CHECK(tensor_kind_from_gguf_name("blk.0.attn_q_norm.weight", 1) == TensorKind::norm);
  CHECK(tensor_kind_from_gguf_name("blk.3.attn_q.weight", 2) == TensorKind::attn_q);
  CHECK(tensor_kind_from_gguf_name("blk.3.attn_k.weight", 2) == TensorKind::attn_k);
  CHECK(tensor_kind_from_gguf_name("blk.3.attn_v.weight", 2) == TensorKind::attn_v);
  CHECK(tensor_kind_from_gguf_name("blk.3.attn_output.weight", 2) == TensorKind::attn_output);
  CHECK(tensor_kind_from_gguf_name("blk.3.ffn_gate.weight", 2) == TensorKind::ffn_gate);
  CHECK(tensor_kind_from_gguf_name("blk.3.ffn_up.weight", 2) == TensorKind::ffn_up);
  CHECK(tensor_kind_from_gguf_name("blk.3.ffn_down.weight", 2) == TensorKind::ffn_down);
  CHECK(tensor_kind_from_gguf_name("blk.3.attn_qkv.weight", 2) == TensorKind::attn_qkv);
  CHECK(tensor_kind_from_gguf_name("blk.3.altup_proj.weight", 2) == TensorKind::keep);
  CHECK(tensor_kind_from_gguf_name("blk.3.laurel_l.weight", 2) == TensorKind::keep);
  CHECK(tensor_kind_from_gguf_name("per_layer_model_proj.weight", 2) == TensorKind::keep);
  CHECK(tensor_kind_from_gguf_name("blk.3.ffn_gate_inp.weight", 2) == TensorKind::keep);
  CHECK(tensor_kind_from_gguf_name("blk.3.attn_q.bias", 1) == TensorKind::norm);
  CHECK(tensor_kind_from_gguf_name("rope_freqs.weight", 1) == TensorKind::norm);
  CHECK(tensor_kind_from_gguf_name("blk.3.inp_gate.weight", 2) == TensorKind::other);
  CHECK(layer_from_gguf_name("blk.17.ffn_down.weight") == 17);
  CHECK(layer_from_gguf_name("blk.0.attn_q.weight") == 0);
  CHECK(layer_from_gguf_name("output.weight") == -1);
  CHECK(layer_from_gguf_name("blk.x.attn_q.weight") == -1);
  CHECK(layer_from_gguf_name("blk.12") == -1);
}
