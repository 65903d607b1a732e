#include "runtime/synth.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "base/dtype.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "formats/metadata.h"
#include "formats/ucn.h"
#include "quant/quant.h"
#include "runtime/convert.h"

namespace unicorn {
namespace {

// The one table of real shapes (text decoder only; values from the checkpoints' config.json).
const std::vector<SynthShape> kShapes = [] {
  std::vector<SynthShape> v;
  {
    SynthShape s;
    s.name = "llama-3.2-1b";
    s.arch = "llama";
    s.vocab = 128256, s.hidden = 2048, s.layers = 16, s.heads = 32, s.kv_heads = 8, s.head_dim = 64, s.ffn = 8192;
    s.ctx = 131072, s.rope_theta = 500000.0, s.tied = true, s.norm_eps = 1e-5;
    v.push_back(s);
  }
  {
    SynthShape s;
    s.name = "gemma-3-1b";
    s.arch = "gemma3";
    s.vocab = 262144, s.hidden = 1152, s.layers = 26, s.heads = 4, s.kv_heads = 1, s.head_dim = 256, s.ffn = 6912;
    s.ctx = 32768, s.rope_theta = 1e6, s.rope_theta_swa = 1e4, s.sliding_window = 512, s.swa_period = 6;
    s.tied = true, s.norm_eps = 1e-6;
    v.push_back(s);
  }
  {
    SynthShape s;
    s.name = "gemma-3-4b";
    s.arch = "gemma3";
    s.vocab = 262208, s.hidden = 2560, s.layers = 34, s.heads = 8, s.kv_heads = 4, s.head_dim = 256, s.ffn = 10240;
    s.ctx = 131072, s.rope_theta = 1e6, s.rope_theta_swa = 1e4, s.rope_linear_factor = 8.0;
    s.sliding_window = 1024, s.swa_period = 6, s.tied = true, s.norm_eps = 1e-6;
    v.push_back(s);
  }
  {
    SynthShape s;
    s.name = "gemma-3n-e2b";
    s.arch = "gemma3n";
    s.vocab = 262400, s.hidden = 2048, s.layers = 30, s.heads = 8, s.kv_heads = 2, s.head_dim = 256, s.ffn = 8192;
    s.ctx = 32768, s.rope_theta = 1e6, s.rope_theta_swa = 1e4, s.sliding_window = 512, s.swa_period = 5;
    s.tied = true, s.norm_eps = 1e-6;
    s.per_layer_dim = 256, s.per_layer_vocab = 262144, s.altup_inputs = 4, s.laurel_rank = 64;
    s.kv_shared_layers = 10, s.sparse_layers = 10, s.final_softcap = 30.0;
    v.push_back(s);
  }
  return v;
}();

const char* default_shape_for_arch(const std::string& arch) {
  if (arch == "llama") return "llama-3.2-1b";
  if (arch == "gemma3") return "gemma-3-1b";
  if (arch == "gemma3n") return "gemma-3n-e2b";
  return nullptr;
}

std::string shape_names() {
  std::string s;
  for (const SynthShape& sh : kShapes) s += (s.empty() ? "" : ", ") + sh.name;
  return s;
}

// One tensor to generate: GGUF name, outermost-first shape, and whether it is a norm-like (values near 1).
struct SynthTensor {
  std::string name;
  std::vector<int64_t> shape;
  bool near_one = false;
  int layer = 0;
  int64_t rows() const {
    int64_t r = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) r *= shape[i];
    return r;
  }
  int64_t cols() const { return shape.back(); }
};

std::vector<SynthTensor> plan_tensors(const SynthShape& s) {
  std::vector<SynthTensor> t;
  const int64_t H = s.hidden, q = int64_t{s.heads} * s.head_dim, kv = int64_t{s.kv_heads} * s.head_dim, F = s.ffn;
  const bool gemma = s.arch != "llama", g3n = s.arch == "gemma3n";
  auto add = [&](std::string name, std::vector<int64_t> shape, int layer = 0) {
    const bool one = shape.size() == 1;
    t.push_back({std::move(name), std::move(shape), one, layer});
  };
  add("token_embd.weight", {s.vocab, H});
  if (g3n) {
    const int64_t LP = int64_t{s.layers} * s.per_layer_dim;
    // llama.cpp wants vocab rows here (its converter pads the per_layer_vocab rows of the checkpoint with zeros).
    add("per_layer_token_embd.weight", {std::max<int64_t>(s.vocab, s.per_layer_vocab), LP});
    add("per_layer_model_proj.weight", {LP, H});
    add("per_layer_proj_norm.weight", {s.per_layer_dim});
    add("altup_proj.weight", {s.altup_inputs - 1, H, H});
    add("altup_unembd_proj.weight", {s.altup_inputs - 1, H, H});
  }
  add("output_norm.weight", {H});
  if (!s.tied) add("output.weight", {s.vocab, H});
  for (int l = 0; l < s.layers; ++l) {
    auto n = [&](const char* what) { return str_cat("blk.", l, ".", what, ".weight"); };
    add(n("attn_norm"), {H}, l);
    add(n("attn_q"), {q, H}, l);
    add(n("attn_k"), {kv, H}, l);
    add(n("attn_v"), {kv, H}, l);
    add(n("attn_output"), {H, q}, l);
    if (gemma) {
      add(n("attn_q_norm"), {s.head_dim}, l);
      add(n("attn_k_norm"), {s.head_dim}, l);
      add(n("post_attention_norm"), {H}, l);
      add(n("post_ffw_norm"), {H}, l);
    }
    add(n("ffn_norm"), {H}, l);
    add(n("ffn_gate"), {F, H}, l);
    add(n("ffn_up"), {F, H}, l);
    add(n("ffn_down"), {H, F}, l);
    if (g3n) {
      const int64_t N = s.altup_inputs, P = s.per_layer_dim, r = s.laurel_rank;
      add(n("laurel_l"), {r, H}, l);
      add(n("laurel_r"), {H, r}, l);
      add(n("laurel_post_norm"), {H}, l);
      add(n("inp_gate"), {P, H}, l);
      add(n("proj"), {H, P}, l);
      add(n("post_norm"), {H}, l);
      add(n("altup_router_norm"), {H}, l);
      add(n("altup_router"), {N, H}, l);
      add(n("altup_predict_coef"), {N * N, N}, l);
      add(n("altup_correct_coef"), {N, N}, l);
      add(n("altup_correct_scale"), {H}, l);
    }
  }
  return t;
}

// Made-up SentencePiece pieces: "▁" + a bijective base-26 word for even j, the bare word for odd j; all distinct.
std::string made_up_piece(int64_t j) {
  std::string word;
  for (int64_t x = j / 2 + 1; x > 0; x = (x - 1) / 26) word.insert(word.begin(), static_cast<char>('a' + (x - 1) % 26));
  return (j % 2 == 0 ? std::string("\xE2\x96\x81") : std::string()) + word;
}

void add_tokenizer(Metadata& md, const SynthShape& s) {
  enum { kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6 };
  const bool gemma = s.arch != "llama";
  std::vector<MetaValue> tokens, scores, types;
  tokens.reserve(s.vocab), scores.reserve(s.vocab), types.reserve(s.vocab);
  auto push = [&](std::string piece, float score, int type) {
    tokens.push_back(MetaValue::str(std::move(piece)));
    scores.push_back(MetaValue::f32(score));
    types.push_back(MetaValue::i32(type));
  };
  int bos, eos, unk;
  if (gemma) {  // Gemma's layout: <pad> <eos> <bos> <unk>
    push("<pad>", 0, kControl), push("<eos>", 0, kControl), push("<bos>", 0, kControl), push("<unk>", 0, kUnknown);
    bos = 2, eos = 1, unk = 3;
  } else {      // Llama 2 SentencePiece layout: <unk> <s> </s>
    push("<unk>", 0, kUnknown), push("<s>", 0, kControl), push("</s>", 0, kControl);
    bos = 1, eos = 2, unk = 0;
  }
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) push(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">", 0, kByte);
  for (int64_t j = 0; static_cast<int>(tokens.size()) < s.vocab; ++j)
    push(made_up_piece(j), -static_cast<float>(j + 1), kNormal);
  md.set("tokenizer.ggml.model", MetaValue::str("llama"));
  md.set("tokenizer.ggml.tokens", MetaValue::array(MetaType::STRING, std::move(tokens)));
  md.set("tokenizer.ggml.scores", MetaValue::array(MetaType::F32, std::move(scores)));
  md.set("tokenizer.ggml.token_type", MetaValue::array(MetaType::I32, std::move(types)));
  md.set("tokenizer.ggml.bos_token_id", MetaValue::u32(bos));
  md.set("tokenizer.ggml.eos_token_id", MetaValue::u32(eos));
  md.set("tokenizer.ggml.unknown_token_id", MetaValue::u32(unk));
  if (gemma) md.set("tokenizer.ggml.padding_token_id", MetaValue::u32(0));
  md.set("tokenizer.ggml.add_bos_token", MetaValue::boolean(true));
  md.set("tokenizer.ggml.add_eos_token", MetaValue::boolean(false));
}

Metadata make_metadata(const SynthShape& s, quant::QuantMix mix, uint64_t seed) {
  Metadata md;
  const std::string p = s.arch + ".";
  md.set("general.architecture", MetaValue::str(s.arch));
  md.set("general.name", MetaValue::str(str_cat("synthetic-", s.name, "-seed", seed)));
  md.set("general.file_type", MetaValue::u32(quant::quant_mix_gguf_file_type(mix)));
  md.set(p + "context_length", MetaValue::u32(s.ctx));
  md.set(p + "embedding_length", MetaValue::u32(s.hidden));
  md.set(p + "block_count", MetaValue::u32(s.layers));
  md.set(p + "feed_forward_length", MetaValue::u32(s.ffn));
  md.set(p + "attention.head_count", MetaValue::u32(s.heads));
  md.set(p + "attention.head_count_kv", MetaValue::u32(s.kv_heads));
  md.set(p + "attention.key_length", MetaValue::u32(s.head_dim));
  md.set(p + "attention.value_length", MetaValue::u32(s.head_dim));
  md.set(p + "attention.layer_norm_rms_epsilon", MetaValue::f32(static_cast<float>(s.norm_eps)));
  md.set(p + "rope.freq_base", MetaValue::f32(static_cast<float>(s.rope_theta)));
  if (s.arch == "llama") {
    md.set(p + "rope.dimension_count", MetaValue::u32(s.head_dim));
    md.set(p + "vocab_size", MetaValue::u32(s.vocab));
  } else {
    md.set(p + "attention.sliding_window", MetaValue::u32(s.sliding_window));
    if (s.rope_linear_factor > 0) {
      md.set(p + "rope.scaling.type", MetaValue::str("linear"));
      md.set(p + "rope.scaling.factor", MetaValue::f32(static_cast<float>(s.rope_linear_factor)));
    }
  }
  if (s.arch == "gemma3n") {
    md.set(p + "rope.freq_base_swa", MetaValue::f32(static_cast<float>(s.rope_theta_swa)));
    md.set(p + "embedding_length_per_layer_input", MetaValue::u32(s.per_layer_dim));
    md.set(p + "altup.active_idx", MetaValue::u32(0));
    md.set(p + "altup.num_inputs", MetaValue::u32(s.altup_inputs));
    md.set(p + "attention.shared_kv_layers", MetaValue::u32(s.kv_shared_layers));
    md.set(p + "final_logit_softcapping", MetaValue::f32(static_cast<float>(s.final_softcap)));
    std::vector<MetaValue> pattern, sparsity;
    for (int l = 0; l < s.layers; ++l) {
      pattern.push_back(MetaValue::boolean((l + 1) % s.swa_period != 0));
      // The converter stores the normal quantile of the sparsity target (0.95 -> 1.6449), -inf for dense layers.
      sparsity.push_back(MetaValue::f32(l < s.sparse_layers ? 1.6448536f : -std::numeric_limits<float>::infinity()));
    }
    md.set(p + "attention.sliding_window_pattern", MetaValue::array(MetaType::BOOL, std::move(pattern)));
    md.set(p + "activation_sparsity_scale", MetaValue::array(MetaType::F32, std::move(sparsity)));
  }
  add_tokenizer(md, s);
  return md;
}

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Row `row` of a tensor: N(mean, std) by Box-Muller from a per-row splitmix64 stream.
void fill_row(float* out, int64_t n, uint64_t tensor_seed, int64_t row, float mean, float std) {
  uint64_t state = tensor_seed ^ (static_cast<uint64_t>(row) * 0xD1B54A32D192ED03ull);
  constexpr double kTwoPi = 6.283185307179586;
  for (int64_t i = 0; i < n; i += 2) {
    const double u1 = (static_cast<double>(splitmix64(state) >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    out[i] = mean + std * static_cast<float>(r * std::cos(kTwoPi * u2));
    if (i + 1 < n) out[i + 1] = mean + std * static_cast<float>(r * std::sin(kTwoPi * u2));
  }
}

}  // namespace

const std::vector<SynthShape>& synth_shapes() { return kShapes; }

const SynthShape* find_synth_shape(const std::string& name) {
  for (const SynthShape& s : kShapes)
    if (s.name == name) return &s;
  return nullptr;
}

SynthResult synthesize_model(const SynthOptions& o, const SynthProgress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string shape_name = o.shape;
  if (shape_name.empty()) {
    const char* d = default_shape_for_arch(o.arch);
    if (d == nullptr) throw Error(str_cat("unknown --arch '", o.arch, "' (llama, gemma3, gemma3n)"), {"", "", "arch"});
    shape_name = d;
  }
  const SynthShape* found = find_synth_shape(shape_name);
  if (found == nullptr) throw Error(str_cat("unknown --shape '", shape_name, "' (", shape_names(), ")"), {"", "", "shape"});
  SynthShape s = *found;
  if (!o.arch.empty() && o.arch != s.arch)
    throw Error(str_cat("shape ", s.name, " is a ", s.arch, " model, not ", o.arch), {"", "", "arch"});
  if (o.layers < 0 || o.layers > 1000) throw Error("--layers must be between 1 and 1000", {"", "", "layers"});
  if (o.vocab != 0 && (o.vocab < 300 || o.vocab > (1 << 20)))
    throw Error("--vocab must be between 300 and 1048576", {"", "", "vocab"});
  if (o.vocab > 0) {
    s.vocab = o.vocab;
    // Gemma 3n: keep the real checkpoint's ids past the per-layer table (262,400 - 262,144 multimodal ids).
    const int extra = found->vocab - found->per_layer_vocab;
    s.per_layer_vocab = s.per_layer_vocab > 0 ? std::max(1, s.vocab - std::max(0, extra)) : 0;
  }
  if (o.layers > 0) {
    s.layers = o.layers;
    s.sparse_layers = std::min(s.sparse_layers, s.layers);
    // KV sharing needs an earlier layer of each type to share from.
    if (s.kv_shared_layers > 0) s.kv_shared_layers = s.layers >= 2 * s.swa_period ? s.layers / 3 : 0;
  }
  const OutputFormat fmt = output_format_for_path(o.output);

  const std::vector<SynthTensor> tensors = plan_tensors(s);
  const Metadata md = make_metadata(s, o.mix, o.seed);
  std::vector<DType> types;
  std::vector<uint64_t> sizes;
  SynthResult res;
  for (const SynthTensor& t : tensors) {
    quant::TensorRole role;
    role.kind = quant::tensor_kind_from_gguf_name(t.name, static_cast<int>(t.shape.size()));
    role.layer = t.layer;
    role.n_layers = s.layers;
    role.rows = t.rows();
    role.cols = t.cols();
    role.tied_output = s.tied && t.name == "token_embd.weight";
    role.unquantized_type = t.rows() * t.cols() >= (int64_t{1} << 20) ? DType::F16 : DType::F32;
    types.push_back(t.shape.size() == 1 ? DType::F32 : quant::choose_tensor_type(o.mix, role));
    sizes.push_back(tensor_nbytes(types.back(), t.shape));
    res.parameters += static_cast<uint64_t>(t.rows() * t.cols());
    res.tensor_bytes += sizes.back();
  }

  ThreadPool pool(o.threads > 0 ? o.threads : physical_core_count());
  // Rows are generated and quantized a few MiB at a time, then handed to the writer.
  constexpr int64_t kChunkElems = int64_t{4} << 20;
  std::vector<float> f32;
  std::vector<uint8_t> packed;
  size_t done = 0;
  auto produce = [&](size_t i, const std::function<void(const void*, uint64_t)>& sink) {
    const SynthTensor& t = tensors[i];
    const int64_t rows = t.rows(), cols = t.cols();
    const int64_t chunk_rows = std::max<int64_t>(1, kChunkElems / cols);
    const uint64_t seed = hash_name(t.name, o.seed);
    const float mean = t.near_one ? 1.0f : 0.0f;
    for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
      const int64_t n = std::min(chunk_rows, rows - r0);
      f32.resize(static_cast<size_t>(n * cols));
      pool.parallel_for(static_cast<size_t>(n), [&](int, size_t b, size_t e) {
        for (size_t r = b; r < e; ++r) fill_row(f32.data() + r * cols, cols, seed, r0 + static_cast<int64_t>(r), mean, 0.02f);
      });
      const uint64_t bytes = dtype_row_bytes(types[i], static_cast<uint64_t>(cols)) * static_cast<uint64_t>(n);
      packed.resize(bytes);
      quant::quantize_tensor(types[i], f32.data(), n, cols, packed.data(), t.name, &pool);
      sink(packed.data(), bytes);
    }
    ++done;
    if (progress) progress(done, tensors.size(), t.name);
  };

  if (fmt == OutputFormat::Gguf) {
    GgufWriter w;
    w.set("general.architecture", md.get("general.architecture"));
    for (const auto& [k, v] : md.entries())
      if (k != "general.architecture") w.set(k, v);
    for (size_t i = 0; i < tensors.size(); ++i) {
      w.add_tensor(tensors[i].name, types[i], tensors[i].shape, sizes[i],
                   [&, i](const GgufWriter::Sink& sink) { produce(i, sink); });
    }
    w.write(o.output);
  } else {
    UcnWriter::Options wo;
    wo.threads = o.threads;
    UcnWriter w(o.output, wo);
    Metadata um = md;
    um.set("unicorn.quant_mix", MetaValue::str(quant::quant_mix_name(o.mix)));
    w.set_metadata(std::move(um));
    for (size_t i = 0; i < tensors.size(); ++i) {
      w.add_tensor(tensors[i].name, types[i], tensors[i].shape, [&, i](uint8_t* out, uint64_t raw_size) {
        uint64_t at = 0;
        produce(i, [&](const void* p, uint64_t n) {
          if (at + n > raw_size) throw Error("synth: tensor larger than declared", {o.output, tensors[i].name, ""});
          std::memcpy(out + at, p, n);
          at += n;
        });
      });
    }
    w.finish();
  }
  res.shape = s;
  res.tensors = tensors.size();
  res.file_bytes = std::filesystem::file_size(o.output);
  res.bits_per_weight = res.parameters > 0 ? 8.0 * static_cast<double>(res.tensor_bytes) / static_cast<double>(res.parameters) : 0;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace unicorn
