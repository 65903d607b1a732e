#include "quant/recipe.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "base/error.h"

namespace unicorn::quant {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third layer in between.
bool use_more_bits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

// A K-quant needs rows that are whole 256-element super-blocks. llama.cpp falls back Q4_K -> Q5_0,
// Q5_K -> Q5_1, Q6_K -> Q8_0. Unicorn has no Q5_0/Q5_1, so every K-quant falls back to Q8_0 (more bits, never
// fewer). A row width that is not even a multiple of 32 cannot use any block type and stays F16.
DType fit_row_width(DType t, int64_t cols) {
  const int64_t block = dtype_traits(t).block_elems;
  if (cols % block == 0) return t;
  if (cols % 32 == 0) return DType::Q8_0;
  return DType::F16;
}

}  // namespace

std::optional<QuantMix> parse_quant_mix(std::string_view name) {
  std::string s = lower(name);
  if (s.rfind("--", 0) == 0) s = s.substr(2);
  if (s == "q4km" || s == "q4_k_m" || s == "q4_k") return QuantMix::Q4_K_M;
  if (s == "q5km" || s == "q5_k_m" || s == "q5_k") return QuantMix::Q5_K_M;
  if (s == "q6k" || s == "q6_k") return QuantMix::Q6_K;
  if (s == "q8_0" || s == "q80") return QuantMix::Q8_0;
  if (s == "q4_0" || s == "q40") return QuantMix::Q4_0;
  if (s == "f16") return QuantMix::F16;
  if (s == "bf16") return QuantMix::BF16;
  return std::nullopt;
}

QuantMix parse_quant_mix_or_throw(std::string_view name) {
  if (auto m = parse_quant_mix(name)) return *m;
  fail("unknown quantization '", name, "' (expected one of q4km, q5km, q6k, q8_0, q4_0, f16, bf16)");
}

const char* quant_mix_name(QuantMix mix) {
  switch (mix) {
    case QuantMix::Q4_K_M: return "q4km";
    case QuantMix::Q5_K_M: return "q5km";
    case QuantMix::Q6_K: return "q6k";
    case QuantMix::Q8_0: return "q8_0";
    case QuantMix::Q4_0: return "q4_0";
    case QuantMix::F16: return "f16";
    case QuantMix::BF16: return "bf16";
  }
  return "?";
}

const char* quant_mix_llama_name(QuantMix mix) {
  switch (mix) {
    case QuantMix::Q4_K_M: return "Q4_K_M";
    case QuantMix::Q5_K_M: return "Q5_K_M";
    case QuantMix::Q6_K: return "Q6_K";
    case QuantMix::Q8_0: return "Q8_0";
    case QuantMix::Q4_0: return "Q4_0";
    case QuantMix::F16: return "F16";
    case QuantMix::BF16: return "BF16";
  }
  return "?";
}

DType quant_mix_base_type(QuantMix mix) {
  switch (mix) {
    case QuantMix::Q4_K_M: return DType::Q4_K;
    case QuantMix::Q5_K_M: return DType::Q5_K;
    case QuantMix::Q6_K: return DType::Q6_K;
    case QuantMix::Q8_0: return DType::Q8_0;
    case QuantMix::Q4_0: return DType::Q4_0;
    case QuantMix::F16: return DType::F16;
    case QuantMix::BF16: return DType::BF16;
  }
  fail("unknown quantization mix");
}

uint32_t quant_mix_gguf_file_type(QuantMix mix) {
  switch (mix) {
    case QuantMix::Q4_K_M: return 15;
    case QuantMix::Q5_K_M: return 17;
    case QuantMix::Q6_K: return 18;
    case QuantMix::Q8_0: return 7;
    case QuantMix::Q4_0: return 2;
    case QuantMix::F16: return 1;
    case QuantMix::BF16: return 32;
  }
  fail("unknown quantization mix");
}

DType choose_tensor_type(QuantMix mix, const TensorRole& role) {
  if (role.kind == TensorKind::norm) return DType::F32;
  if (role.kind == TensorKind::keep) return role.unquantized_type;
  const DType base = quant_mix_base_type(mix);
  // F16/BF16 mixes are not "quantized" in llama.cpp's sense: every 2-D weight gets the base type as is.
  if (!dtype_traits(base).quantized) return base;

  DType t = base;
  const bool is_output = role.kind == TensorKind::output || (role.kind == TensorKind::token_embd && role.tied_output);
  if (is_output) {
    // llama.cpp: output.weight gets Q6_K unless the mix is Q8_0 (which keeps Q8_0), and Q8_0 when the row
    // width is not a multiple of the base type's block.
    if (role.cols % dtype_traits(base).block_elems != 0) {
      t = DType::Q8_0;
    } else if (base != DType::Q8_0) {
      t = DType::Q6_K;
    }
  } else if (role.kind == TensorKind::attn_v) {
    if ((mix == QuantMix::Q4_K_M || mix == QuantMix::Q5_K_M) && use_more_bits(role.layer, role.n_layers)) {
      t = DType::Q6_K;
    }
  } else if (role.kind == TensorKind::ffn_down) {
    if ((mix == QuantMix::Q4_K_M || mix == QuantMix::Q5_K_M) && use_more_bits(role.layer, role.n_layers)) {
      t = DType::Q6_K;
    }
  } else if (role.kind == TensorKind::attn_qkv) {
    if (mix == QuantMix::Q4_K_M) t = DType::Q5_K;
    if (mix == QuantMix::Q5_K_M) t = DType::Q6_K;
  }
  // token_embd (untied), attn_q/k/output, ffn_gate/up and other weights keep the base type for these mixes.
  return fit_row_width(t, role.cols);
}

TensorKind tensor_kind_from_gguf_name(std::string_view name_view, int n_dims) {
  const std::string name(name_view);
  auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
  const bool ends_with_weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
  if (n_dims < 2 || has("_norm.weight") || !ends_with_weight) return TensorKind::norm;
  if (name == "output.weight") return TensorKind::output;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return TensorKind::token_embd;
  // llama-quantize leaves these in their source type (see its quantize loop).
  if (has("ffn_gate_inp.weight") || has("altup") || has("laurel") || has("per_layer_model_proj") ||
      name == "position_embd.weight" || name == "token_types.weight" || has(".position_embd.")) {
    return TensorKind::keep;
  }
  // Same order as llama_tensor_get_type's if/else chain.
  if (has("attn_v.weight")) return TensorKind::attn_v;
  if (has("attn_k.weight")) return TensorKind::attn_k;
  if (has("attn_q.weight")) return TensorKind::attn_q;
  if (has("ffn_down")) return TensorKind::ffn_down;
  if (has("attn_output.weight")) return TensorKind::attn_output;
  if (has("attn_qkv.weight")) return TensorKind::attn_qkv;
  if (has("ffn_gate")) return TensorKind::ffn_gate;
  if (has("ffn_up")) return TensorKind::ffn_up;
  return TensorKind::other;
}

int layer_from_gguf_name(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int value = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    value = value * 10 + (name[i] - '0');
    if (value > 1000000) return -1;
  }
  return (i < name.size() && name[i] == '.') ? value : -1;
}

}  // namespace unicorn::quant
