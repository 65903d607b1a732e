#include "runtime/convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <regex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/half.h"
#include "base/thread_pool.h"
#include "quant/quant.h"
#include "runtime/model_config.h"

namespace unicorn {

using nlohmann::json;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

json parse_json(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(str_cat("invalid JSON: ", e.what()), {what, "", ""});
  }
}

// GGUF token types (llama.cpp's llama_token_type / gguf.TokenType).
enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

std::string token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return {};
}

bool has_component(const json& node, const std::string& type) {
  if (!node.is_object()) return false;
  if (node.value("type", "") == type) return true;
  for (const char* list : {"pretokenizers", "normalizers", "decoders"}) {
    if (node.contains(list) && node[list].is_array()) {
      for (const json& c : node[list]) {
        if (has_component(c, type)) return true;
      }
    }
  }
  return false;
}

// llama.cpp's tokenizer.ggml.pre names for the byte-level BPE pre-tokenizers we can recognize exactly.
std::string detect_bpe_pre(const json& tj, std::vector<std::string>* notes) {
  const json& pre = tj.contains("pre_tokenizer") ? tj["pre_tokenizer"] : json();
  if (pre.is_object() && pre.value("type", "") == "ByteLevel" && pre.value("use_regex", true)) return "gpt-2";
  if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers")) {
    for (const json& p : pre["pretokenizers"]) {
      if (p.value("type", "") == "Split" && p.contains("pattern") && p["pattern"].contains("Regex")) {
        const std::string rx = p["pattern"]["Regex"].get<std::string>();
        if (rx.rfind("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}", 0) == 0) return "llama-bpe";
      }
    }
  }
  if (notes != nullptr) notes->push_back("byte-level BPE pre-tokenizer not recognized; tokenizer.ggml.pre set to \"default\"");
  return "default";
}

}  // namespace

void add_gguf_tokenizer_from_hf(Metadata& out, const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                                const std::string& config_json, int vocab_size, const std::string& arch,
                                std::vector<std::string>* notes) {
  const json tj = parse_json(tokenizer_json, "tokenizer.json");
  const json tc = tokenizer_config_json.empty() ? json::object() : parse_json(tokenizer_config_json, "tokenizer_config.json");
  const json cfg = config_json.empty() ? json::object() : parse_json(config_json, "config.json");
  if (!tj.contains("model") || !tj["model"].is_object()) throw Error("missing \"model\"", {"tokenizer.json", "", "model"});
  const json& model = tj["model"];
  const std::string type = model.value("type", "");

  // id -> piece, from the model vocabulary and the added tokens.
  std::unordered_map<int64_t, std::string> pieces;
  std::unordered_map<std::string, int64_t> ids;
  std::unordered_map<int64_t, float> unigram_scores;
  int64_t max_id = -1;
  auto put_piece = [&](int64_t id, const std::string& piece) {
    if (id < 0 || id > (int64_t{1} << 24)) throw Error(str_cat("token id ", id, " out of range"), {"tokenizer.json", "", "model.vocab"});
    pieces[id] = piece;
    ids.emplace(piece, id);
    max_id = std::max(max_id, id);
  };
  if (type == "BPE" || type == "WordLevel") {
    if (!model.contains("vocab") || !model["vocab"].is_object()) throw Error("expected an object", {"tokenizer.json", "", "model.vocab"});
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) put_piece(it.value().get<int64_t>(), it.key());
  } else if (type == "Unigram") {
    if (!model.contains("vocab") || !model["vocab"].is_array()) throw Error("expected an array", {"tokenizer.json", "", "model.vocab"});
    int64_t id = 0;
    for (const json& e : model["vocab"]) {
      put_piece(id, e.at(0).get<std::string>());
      unigram_scores[id] = e.at(1).get<float>();
      ++id;
    }
  } else {
    throw Error(str_cat("tokenizer model type \"", type, "\" cannot be converted to GGUF"), {"tokenizer.json", "", "model.type"});
  }
  std::unordered_map<int64_t, bool> added_special;  // id -> special?
  if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
    for (const json& a : tj["added_tokens"]) {
      const int64_t id = a.at("id").get<int64_t>();
      const std::string content = a.at("content").get<std::string>();
      put_piece(id, content);
      ids[content] = id;
      added_special[id] = a.value("special", false);
    }
  }
  const int64_t n = std::max<int64_t>(vocab_size, max_id + 1);
  if (n > vocab_size && vocab_size > 0 && notes != nullptr) {
    notes->push_back(str_cat("tokenizer has ", n, " tokens but the embedding has ", vocab_size, " rows"));
  }

  const bool byte_level = type == "BPE" && (has_component(tj.value("pre_tokenizer", json()), "ByteLevel") ||
                                            has_component(tj.value("decoder", json()), "ByteLevel"));
  const std::string unk_piece = model.contains("unk_token") && model["unk_token"].is_string() ? model["unk_token"].get<std::string>() : "";

  std::vector<MetaValue> tokens, types, scores;
  tokens.reserve(n);
  types.reserve(n);
  if (byte_level) {
    out.set("tokenizer.ggml.model", MetaValue::str("gpt2"));
    out.set("tokenizer.ggml.pre", MetaValue::str(detect_bpe_pre(tj, notes)));
    for (int64_t id = 0; id < n; ++id) {
      auto it = pieces.find(id);
      int32_t tt = kNormal;
      std::string piece;
      if (it == pieces.end()) {
        piece = str_cat("[PAD", id, "]");
        tt = kUserDefined;
      } else {
        piece = it->second;
        auto a = added_special.find(id);
        if (a != added_special.end()) tt = a->second ? kControl : kUserDefined;
      }
      tokens.push_back(MetaValue::str(piece));
      types.push_back(MetaValue::i32(tt));
    }
    std::vector<MetaValue> merges;
    if (model.contains("merges") && model["merges"].is_array()) {
      for (const json& m : model["merges"]) {
        if (m.is_string()) merges.push_back(MetaValue::str(m.get<std::string>()));
        else if (m.is_array() && m.size() == 2) merges.push_back(MetaValue::str(m[0].get<std::string>() + " " + m[1].get<std::string>()));
        else throw Error("merge entry is neither \"a b\" nor [a, b]", {"tokenizer.json", "", "model.merges"});
      }
    }
    out.set("tokenizer.ggml.tokens", MetaValue::array(MetaType::STRING, std::move(tokens)));
    out.set("tokenizer.ggml.token_type", MetaValue::array(MetaType::I32, std::move(types)));
    out.set("tokenizer.ggml.merges", MetaValue::array(MetaType::STRING, std::move(merges)));
  } else {
    // SentencePiece-style (Metaspace / byte fallback BPE, or Unigram): llama.cpp's "llama" (SPM) tokenizer.
    // For BPE the SPM scores are the merge ranks: a piece made by merge r scores -r, so higher priority merges win.
    std::unordered_map<int64_t, float> bpe_scores;
    if (type == "BPE" && model.contains("merges") && model["merges"].is_array()) {
      int64_t rank = 0;
      for (const json& m : model["merges"]) {
        std::string merged;
        if (m.is_string()) {
          const std::string s = m.get<std::string>();
          const size_t sp = s.find(' ');
          merged = sp == std::string::npos ? s : s.substr(0, sp) + s.substr(sp + 1);
        } else if (m.is_array() && m.size() == 2) {
          merged = m[0].get<std::string>() + m[1].get<std::string>();
        }
        auto it = ids.find(merged);
        if (it != ids.end() && !bpe_scores.count(it->second)) bpe_scores[it->second] = -static_cast<float>(rank);
        ++rank;
      }
      for (int64_t id = 0; id < n; ++id) {
        if (!bpe_scores.count(id)) bpe_scores[id] = -static_cast<float>(rank + id);
      }
    }
    static const std::regex byte_piece("<0x[0-9A-Fa-f]{2}>");
    for (int64_t id = 0; id < n; ++id) {
      auto it = pieces.find(id);
      int32_t tt = kNormal;
      std::string piece;
      float score = 0.f;
      if (it == pieces.end()) {
        piece = str_cat("[PAD", id, "]");
        tt = kUnused;
      } else {
        piece = it->second;
        auto a = added_special.find(id);
        if (a != added_special.end()) tt = a->second ? kControl : kUserDefined;
        if (piece == unk_piece) tt = kUnknown;
        else if (std::regex_match(piece, byte_piece)) tt = kByte;
        if (type == "Unigram") score = unigram_scores.count(id) ? unigram_scores[id] : 0.f;
        else if (tt == kNormal) score = bpe_scores[id];
      }
      tokens.push_back(MetaValue::str(piece));
      types.push_back(MetaValue::i32(tt));
      scores.push_back(MetaValue::f32(score));
    }
    out.set("tokenizer.ggml.model", MetaValue::str("llama"));
    out.set("tokenizer.ggml.pre", MetaValue::str("default"));
    out.set("tokenizer.ggml.tokens", MetaValue::array(MetaType::STRING, std::move(tokens)));
    out.set("tokenizer.ggml.scores", MetaValue::array(MetaType::F32, std::move(scores)));
    out.set("tokenizer.ggml.token_type", MetaValue::array(MetaType::I32, std::move(types)));
    // A "Prepend ▁" normalizer or a Metaspace pre-tokenizer that prepends means SentencePiece's add_dummy_prefix.
    bool prefix = has_component(tj.value("normalizer", json()), "Prepend");
    const json pre = tj.value("pre_tokenizer", json());
    if (pre.is_object() && pre.value("type", "") == "Metaspace") prefix = pre.value("prepend_scheme", "always") != "never";
    if (arch == "gemma3" || arch == "gemma3n") prefix = false;
    out.set("tokenizer.ggml.add_space_prefix", MetaValue::boolean(prefix));
  }

  // Special tokens: tokenizer_config.json names them by content; config.json by id (fallback).
  const std::pair<const char*, const char*> specials[] = {
      {"bos", "tokenizer.ggml.bos_token_id"}, {"eos", "tokenizer.ggml.eos_token_id"},
      {"unk", "tokenizer.ggml.unknown_token_id"}, {"pad", "tokenizer.ggml.padding_token_id"}};
  for (const auto& [typ, key] : specials) {
    std::optional<int64_t> id;
    const std::string tkey = std::string(typ) + "_token";
    if (tc.contains(tkey)) {
      const std::string content = token_content(tc[tkey]);
      auto it = ids.find(content);
      if (!content.empty() && it != ids.end()) id = it->second;
    }
    const std::string ckey = std::string(typ) + "_token_id";
    if (!id && cfg.contains(ckey)) {
      const json& v = cfg[ckey];
      if (v.is_number_integer()) id = v.get<int64_t>();
      else if (v.is_array() && !v.empty() && v[0].is_number_integer()) id = v[0].get<int64_t>();
    }
    if (!id && std::string(typ) == "unk" && !unk_piece.empty() && ids.count(unk_piece)) id = ids[unk_piece];
    if (id && *id >= 0 && *id < n) out.set(key, MetaValue::u32(static_cast<uint32_t>(*id)));
  }
  for (const char* typ : {"bos", "eos"}) {
    const std::string k = std::string("add_") + typ + "_token";
    if (tc.contains(k) && tc[k].is_boolean()) out.set(str_cat("tokenizer.ggml.", k), MetaValue::boolean(tc[k].get<bool>()));
  }
  if (tc.contains("chat_template")) {
    const json& ct = tc["chat_template"];
    if (ct.is_string()) {
      out.set("tokenizer.chat_template", MetaValue::str(ct.get<std::string>()));
    } else if (ct.is_array()) {
      for (const json& t : ct) {
        const std::string name = t.value("name", "");
        const std::string tmpl = t.value("template", "");
        if (name == "default") out.set("tokenizer.chat_template", MetaValue::str(tmpl));
        else if (!name.empty()) out.set("tokenizer.chat_template." + name, MetaValue::str(tmpl));
      }
    }
  }
}

void add_gguf_tokenizer_from_spm(Metadata& out, const SpmModel& spm, const std::string& tokenizer_config_json,
                                 int vocab_size, const std::string& arch, const std::string& file,
                                 std::vector<std::string>* notes) {
  if (spm.model_type != SpmModel::kBpe && spm.model_type != SpmModel::kUnigram) {
    throw Error(str_cat("SentencePiece model type ", spm.model_type, " (WORD/CHAR) cannot be converted to GGUF"),
                {file, "", "trainer_spec.model_type"});
  }
  const json tc = tokenizer_config_json.empty() ? json::object() : parse_json(tokenizer_config_json, "tokenizer_config.json");
  const int64_t n = std::max<int64_t>(vocab_size, static_cast<int64_t>(spm.pieces.size()));
  if (vocab_size > 0 && static_cast<int64_t>(spm.pieces.size()) > vocab_size && notes != nullptr)
    notes->push_back(str_cat("tokenizer.model has ", spm.pieces.size(), " pieces but the embedding has ", vocab_size, " rows"));
  std::vector<MetaValue> tokens, scores, types;
  tokens.reserve(static_cast<size_t>(n));
  for (int64_t id = 0; id < n; ++id) {
    if (id < static_cast<int64_t>(spm.pieces.size())) {
      const SpmPiece& p = spm.pieces[static_cast<size_t>(id)];
      tokens.push_back(MetaValue::str(p.piece));
      scores.push_back(MetaValue::f32(p.score));
      types.push_back(MetaValue::i32(p.type));
    } else {
      tokens.push_back(MetaValue::str(str_cat("[PAD", id, "]")));
      scores.push_back(MetaValue::f32(0.0f));
      types.push_back(MetaValue::i32(kUnused));
    }
  }
  out.set("tokenizer.ggml.model", MetaValue::str("llama"));
  out.set("tokenizer.ggml.pre", MetaValue::str("default"));
  out.set("tokenizer.ggml.tokens", MetaValue::array(MetaType::STRING, std::move(tokens)));
  out.set("tokenizer.ggml.scores", MetaValue::array(MetaType::F32, std::move(scores)));
  out.set("tokenizer.ggml.token_type", MetaValue::array(MetaType::I32, std::move(types)));
  const bool gemma = arch == "gemma3" || arch == "gemma3n";
  out.set("tokenizer.ggml.add_space_prefix", MetaValue::boolean(spm.add_dummy_prefix && !gemma));
  const std::pair<int32_t, const char*> ids[] = {{spm.bos_id, "tokenizer.ggml.bos_token_id"},
                                                 {spm.eos_id, "tokenizer.ggml.eos_token_id"},
                                                 {spm.unk_id, "tokenizer.ggml.unknown_token_id"},
                                                 {spm.pad_id, "tokenizer.ggml.padding_token_id"}};
  for (const auto& [id, key] : ids)
    if (id >= 0 && id < n) out.set(key, MetaValue::u32(static_cast<uint32_t>(id)));
  // tokenizer_config.json may name another eos (chat models: the end-of-turn token) by its text.
  if (tc.contains("eos_token")) {
    const std::string content = token_content(tc["eos_token"]);
    for (size_t i = 0; i < spm.pieces.size() && !content.empty(); ++i)
      if (spm.pieces[i].piece == content) {
        out.set("tokenizer.ggml.eos_token_id", MetaValue::u32(static_cast<uint32_t>(i)));
        break;
      }
  }
  out.set("tokenizer.ggml.add_bos_token", MetaValue::boolean(tc.value("add_bos_token", true)));
  out.set("tokenizer.ggml.add_eos_token", MetaValue::boolean(tc.value("add_eos_token", false)));
  if (tc.contains("chat_template") && tc["chat_template"].is_string())
    out.set("tokenizer.chat_template", MetaValue::str(tc["chat_template"].get<std::string>()));
}

OutputFormat output_format_for_path(const std::string& path) {
  if (ends_with(path, ".ucn")) return OutputFormat::Ucn;
  if (ends_with(path, ".gguf")) return OutputFormat::Gguf;
  throw Error("output file must end in .gguf or .ucn", {path, "", ""});
}

std::string gguf_style_name(const std::string& name) {
  static const std::regex layer_re(R"((?:model\.language_model\.|language_model\.model\.|model\.)layers\.(\d+)\.(.+))");
  std::smatch m;
  if (name == "model.embed_tokens.weight" || name == "model.language_model.embed_tokens.weight") return "token_embd.weight";
  if (contains(name, "embed_tokens_per_layer")) return "per_layer_token_embd.weight";
  if (name == "lm_head.weight") return "output.weight";
  if (!std::regex_match(name, m, layer_re)) return name;
  std::string rest = m[2].str();
  static const std::pair<const char*, const char*> map[] = {
      {"self_attn.q_proj.", "attn_q."},   {"self_attn.k_proj.", "attn_k."}, {"self_attn.v_proj.", "attn_v."},
      {"self_attn.o_proj.", "attn_output."}, {"mlp.gate_proj.", "ffn_gate."}, {"mlp.up_proj.", "ffn_up."},
      {"mlp.down_proj.", "ffn_down."}};
  for (const auto& [hf, gg] : map) {
    if (rest.rfind(hf, 0) == 0) {
      rest = gg + rest.substr(std::strlen(hf));
      break;
    }
  }
  return "blk." + m[1].str() + "." + rest;
}

quant::TensorKind tensor_kind_for_name(const std::string& name, int n_dims) {
  return quant::tensor_kind_from_gguf_name(gguf_style_name(name), n_dims);
}

int64_t PlannedTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
int64_t PlannedTensor::rows() const { return shape.empty() ? 1 : elements() / std::max<int64_t>(1, cols()); }

bool dtype_is_float_decodable(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || (dtype_traits(t).quantized && quant::is_supported(t));
}

namespace {

// Decodes all of SRC (F32/F16/BF16/quantized) into dst[0, src.elements()).
void decode_source_f32(const TensorView& src, float* out, ThreadPool* pool) {
  if (!dtype_is_float_decodable(src.dtype)) {
    throw Error(str_cat("cannot convert a ", dtype_name(src.dtype), " tensor to float"), {"", src.name, ""});
  }
  const int64_t cols = src.cols();
  const int64_t rows = src.rows();
  const uint64_t row_bytes = dtype_row_bytes(src.dtype, static_cast<uint64_t>(cols));
  if (row_bytes * static_cast<uint64_t>(rows) > src.nbytes) throw Error("tensor data shorter than its shape", {"", src.name, ""});
  auto decode = [&](int, size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const uint8_t* row = src.data + r * row_bytes;
      float* dst = out + r * static_cast<size_t>(cols);
      switch (src.dtype) {
        case DType::F32: std::memcpy(dst, row, static_cast<size_t>(cols) * 4); break;
        case DType::F16:
          for (int64_t c = 0; c < cols; ++c) {
            uint16_t h;
            std::memcpy(&h, row + 2 * c, 2);
            dst[c] = f16_to_f32(h);
          }
          break;
        case DType::BF16:
          for (int64_t c = 0; c < cols; ++c) {
            uint16_t h;
            std::memcpy(&h, row + 2 * c, 2);
            dst[c] = bf16_to_f32(h);
          }
          break;
        default: quant::dequantize_row(src.dtype, row, dst, cols); break;
      }
    }
  };
  if (pool != nullptr) pool->parallel_for(static_cast<size_t>(rows), decode);
  else decode(0, 0, static_cast<size_t>(rows));
}

}  // namespace

void planned_tensor_f32(const PlannedTensor& t, std::vector<float>& out, ThreadPool* pool) {
  const int64_t n = t.elements();
  out.resize(static_cast<size_t>(n));
  if (t.source == nullptr) {
    if (static_cast<int64_t>(t.generated.size()) != n) throw Error("generated tensor has the wrong size", {"", t.name, ""});
    std::copy(t.generated.begin(), t.generated.end(), out.begin());
    return;
  }
  std::vector<const TensorView*> parts{t.source};
  parts.insert(parts.end(), t.stack_rest.begin(), t.stack_rest.end());
  int64_t have = 0;
  for (const TensorView* p : parts) {
    if (p->shape != t.source->shape) throw Error("stacked tensors differ in shape", {"", p->name, ""});
    have += p->elements();
  }
  if (have > n || (have < n && !t.zero_pad_rows)) throw Error("source and output element counts differ", {"", t.name, ""});
  int64_t at = 0;
  for (const TensorView* p : parts) {
    decode_source_f32(*p, out.data() + at, pool);
    at += p->elements();
  }
  std::fill(out.begin() + at, out.end(), 0.0f);

  switch (t.transform) {
    case ValueTransform::None: break;
    case ValueTransform::AddOne:
      for (float& v : out) v += 1.0f;
      break;
    case ValueTransform::RopePermute: {
      // rows = heads * head_rows; within a head, row (j * half + i) moves to (i * 2 + j): llama.cpp's
      // reshape(n_head, 2, half, cols).swapaxes(1, 2).
      const int64_t out_rows = t.shape.empty() ? 1 : t.shape[0];
      const int64_t heads = t.permute_heads;
      if (heads <= 0 || out_rows % (2 * heads) != 0) {
        throw Error(str_cat(out_rows, " rows do not split into ", heads, " heads of even size"), {"", t.name, ""});
      }
      const int64_t row_len = n / out_rows;
      const int64_t head_rows = out_rows / heads;
      const int64_t half = head_rows / 2;
      std::vector<float> tmp(out);
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t j = 0; j < 2; ++j) {
          for (int64_t i = 0; i < half; ++i) {
            const int64_t from = h * head_rows + j * half + i;
            const int64_t to = h * head_rows + i * 2 + j;
            std::memcpy(out.data() + to * row_len, tmp.data() + from * row_len, static_cast<size_t>(row_len) * 4);
          }
        }
      }
      break;
    }
  }
}

namespace {

// Strips a multimodal prefix so text weights of *ForConditionalGeneration checkpoints map like the text-only ones.
std::string hf_text_name(const std::string& name) {
  std::string s = name;
  for (const std::string p : {"model.language_model.", "language_model.model.", "language_model."}) {
    if (s.rfind(p, 0) == 0) {
      s = "model." + s.substr(p.size());
      break;
    }
  }
  return s;
}

bool is_non_text_tensor(const std::string& name) {
  for (const char* p : {"vision_tower", "multi_modal_projector", "multimodal_projector", "vision_model", "audio_tower",
                        "embed_vision", "embed_audio"}) {
    if (contains(name, p)) return true;
  }
  return false;
}

struct GgufName {
  std::string name;
  ValueTransform transform = ValueTransform::None;
  int heads = 0;
};

// HF -> GGUF tensor name for llama / gemma3 / gemma3n (gguf-py's tensor_mapping.py facts); empty = drop.
// Gemma 3 stores RMSNorm weights as w and llama.cpp as 1 + w; Gemma 3n's norms multiply by w itself (no shift).
std::optional<GgufName> map_hf_to_gguf(const std::string& hf, const std::string& arch, const ModelConfig& cfg) {
  const bool g3n = arch == "gemma3n";
  const bool gemma = arch == "gemma3" || g3n;
  const ValueTransform norm_t = arch == "gemma3" ? ValueTransform::AddOne : ValueTransform::None;
  if (hf == "model.embed_tokens.weight") return GgufName{"token_embd.weight"};
  if (hf == "model.norm.weight") return GgufName{"output_norm.weight", norm_t};
  if (hf == "lm_head.weight") return GgufName{"output.weight"};
  if (g3n) {
    static const std::map<std::string, std::string> top = {
        {"model.embed_tokens_per_layer.weight", "per_layer_token_embd.weight"},
        {"model.per_layer_model_projection.weight", "per_layer_model_proj.weight"},
        {"model.per_layer_projection_norm.weight", "per_layer_proj_norm.weight"},
    };
    auto t = top.find(hf);
    if (t != top.end()) return GgufName{t->second};
  }
  static const std::regex layer_re(R"(model\.layers\.(\d+)\.(.+))");
  std::smatch m;
  if (!std::regex_match(hf, m, layer_re)) return std::nullopt;
  const std::string blk = "blk." + m[1].str() + ".";
  const std::string rest = m[2].str();
  static const std::map<std::string, std::string> common = {
      {"self_attn.q_proj.weight", "attn_q.weight"},   {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},   {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},    {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},    {"input_layernorm.weight", "attn_norm.weight"},
  };
  auto it = common.find(rest);
  if (it != common.end()) {
    GgufName g{blk + it->second};
    if (rest == "input_layernorm.weight") g.transform = norm_t;
    if (!gemma && rest == "self_attn.q_proj.weight") g = {g.name, ValueTransform::RopePermute, cfg.n_heads};
    if (!gemma && rest == "self_attn.k_proj.weight") g = {g.name, ValueTransform::RopePermute, cfg.n_kv_heads};
    return g;
  }
  if (!gemma && rest == "post_attention_layernorm.weight") return GgufName{blk + "ffn_norm.weight"};
  if (gemma) {
    static const std::map<std::string, std::string> g3 = {
        {"post_attention_layernorm.weight", "post_attention_norm.weight"},
        {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
        {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
        {"self_attn.q_norm.weight", "attn_q_norm.weight"},
        {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    };
    auto g = g3.find(rest);
    if (g != g3.end()) return GgufName{blk + g->second, norm_t};
  }
  if (g3n) {
    static const std::map<std::string, std::string> g3n_layer = {
        {"laurel.linear_left.weight", "laurel_l.weight"},
        {"laurel.linear_right.weight", "laurel_r.weight"},
        {"laurel.post_laurel_norm.weight", "laurel_post_norm.weight"},
        {"per_layer_input_gate.weight", "inp_gate.weight"},
        {"per_layer_projection.weight", "proj.weight"},
        {"post_per_layer_input_norm.weight", "post_norm.weight"},
        {"altup.router_norm.weight", "altup_router_norm.weight"},
        {"altup.modality_router.weight", "altup_router.weight"},
        {"altup.prediction_coefs.weight", "altup_predict_coef.weight"},
        {"altup.correction_coefs.weight", "altup_correct_coef.weight"},
        {"altup.correct_output_scale", "altup_correct_scale.weight"},
    };
    auto g = g3n_layer.find(rest);
    if (g != g3n_layer.end()) return GgufName{blk + g->second};
  }
  return std::nullopt;
}

void copy_metadata(const Metadata& from, Metadata& to) {
  for (const auto& [k, v] : from.entries()) {
    if (k.rfind("unicorn.", 0) == 0 || k == "general.alignment" || k == "general.file_type") continue;
    to.set(k, v);
  }
}

void plan_passthrough(const ModelSource& src, ConversionPlan& plan) {
  copy_metadata(src.metadata(), plan.metadata);
  for (const TensorView& t : src.tensors()) {
    PlannedTensor p;
    p.name = t.name;
    p.source = &t;
    p.shape = t.shape;
    plan.tensors.push_back(std::move(p));
  }
}

std::vector<float> llama3_rope_factors(const RopeConfig& r, int head_dim) {
  std::vector<float> f;
  const double low_wavelen = r.original_max_positions / r.low_freq_factor;
  const double high_wavelen = r.original_max_positions / r.high_freq_factor;
  for (int i = 0; i < head_dim; i += 2) {
    const double freq = 1.0 / std::pow(r.theta, static_cast<double>(static_cast<float>(i) / static_cast<float>(head_dim)));
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) f.push_back(1.0f);
    else if (wavelen > low_wavelen) f.push_back(static_cast<float>(r.factor));
    else {
      const double smooth = (r.original_max_positions / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      f.push_back(static_cast<float>(1.0 / ((1 - smooth) / r.factor + smooth)));
    }
  }
  return f;
}

void plan_hf_to_gguf(const ModelSource& src, ConversionPlan& plan) {
  const Metadata& md = src.metadata();
  const std::string config_text = md.get_string("hf.config_json");
  const ModelConfig cfg = config_from_hf_json(config_text, src.path() + "/config.json");
  const std::string arch = model_arch_name(cfg.arch);
  plan.arch = arch;
  Metadata& out = plan.metadata;
  auto u32 = [](int64_t v) { return MetaValue::u32(static_cast<uint32_t>(v)); };
  std::string name = std::filesystem::path(src.path()).filename().string();
  if (name.empty()) name = std::filesystem::path(src.path()).parent_path().filename().string();
  out.set("general.architecture", MetaValue::str(arch));
  out.set("general.type", MetaValue::str("model"));
  out.set("general.name", MetaValue::str(name));
  out.set("general.quantization_version", MetaValue::u32(2));
  const std::string a = arch + ".";
  out.set(a + "block_count", u32(cfg.n_layers));
  out.set(a + "context_length", u32(cfg.max_ctx));
  out.set(a + "embedding_length", u32(cfg.hidden));
  if (!cfg.ffn.empty() && std::any_of(cfg.ffn.begin(), cfg.ffn.end(), [&](int f) { return f != cfg.ffn[0]; })) {
    std::vector<MetaValue> ff;
    for (int f : cfg.ffn) ff.push_back(u32(f));
    out.set(a + "feed_forward_length", MetaValue::array(MetaType::U32, std::move(ff)));
  } else {
    out.set(a + "feed_forward_length", u32(cfg.ffn.empty() ? 0 : cfg.ffn[0]));
  }
  out.set(a + "attention.head_count", u32(cfg.n_heads));
  out.set(a + "attention.head_count_kv", u32(cfg.n_kv_heads));
  out.set(a + "rope.freq_base", MetaValue::f32(static_cast<float>(cfg.rope_global.theta)));
  out.set(a + "attention.layer_norm_rms_epsilon", MetaValue::f32(static_cast<float>(cfg.norm_eps)));
  out.set(a + "attention.key_length", u32(cfg.head_dim));
  out.set(a + "attention.value_length", u32(cfg.head_dim));
  if (cfg.rope_global.scaling == RopeConfig::Scaling::Linear) {
    out.set(a + "rope.scaling.type", MetaValue::str("linear"));
    out.set(a + "rope.scaling.factor", MetaValue::f32(static_cast<float>(cfg.rope_global.factor)));
  }
  if (cfg.arch == ModelArch::Llama) {
    out.set(a + "vocab_size", u32(cfg.vocab_size));
    out.set(a + "rope.dimension_count", u32(cfg.head_dim));
  } else {
    if (cfg.final_softcap > 0) out.set(a + "final_logit_softcapping", MetaValue::f32(static_cast<float>(cfg.final_softcap)));
    out.set(a + "attention.sliding_window", u32(cfg.sliding_window));
    // Beyond convert_hf_to_gguf.py: the per-layer pattern and the local rope base, which llama.cpp hard-codes for
    // gemma3 (every 6th layer global, base 10000) and ignores here; Unicorn's runtime reads them, so checkpoints
    // with another pattern (e.g. the test fixtures) stay exact in GGUF.
    std::vector<MetaValue> pattern;
    for (bool sliding : cfg.layer_sliding) pattern.push_back(MetaValue::boolean(sliding));
    out.set(a + "attention.sliding_window_pattern", MetaValue::array(MetaType::BOOL, std::move(pattern)));
    out.set(a + "rope.freq_base_swa", MetaValue::f32(static_cast<float>(cfg.rope_local.theta)));
    const int period = cfg.arch == ModelArch::Gemma3n ? 5 : 6;
    for (size_t i = 0; i < cfg.layer_sliding.size(); ++i) {
      if (cfg.layer_sliding[i] != ((i + 1) % period != 0)) {
        plan.notes.push_back(str_cat("llama.cpp may assume every ", period, "th ", arch,
                                     " layer is global; this model's layer pattern differs"));
        break;
      }
    }
    if (cfg.rope_local.theta != 10000.0) plan.notes.push_back("llama.cpp assumes a local rope base of 10000 for " + arch);
    if (cfg.arch == ModelArch::Gemma3 && cfg.query_scale > 0 &&
        std::abs(cfg.query_scale * std::sqrt(double(cfg.head_dim)) - 1.0) > 1e-6) {
      plan.notes.push_back("query_pre_attn_scalar differs from head_dim; llama.cpp scales queries by 1/sqrt(head_dim)");
    }
  }
  if (cfg.arch == ModelArch::Gemma3n) {
    // convert_hf_to_gguf.py's Gemma 3n keys; the sparsity scale is the normal quantile of each layer's target.
    out.set(a + "altup.active_idx", u32(cfg.altup_active));
    out.set(a + "altup.num_inputs", u32(cfg.altup_inputs));
    out.set(a + "embedding_length_per_layer_input", u32(cfg.per_layer_dim));
    out.set(a + "attention.shared_kv_layers", u32(cfg.n_kv_shared_layers));
    std::vector<MetaValue> sparsity;
    for (float m : cfg.sparsity_multiplier) sparsity.push_back(MetaValue::f32(m));
    out.set(a + "activation_sparsity_scale", MetaValue::array(MetaType::F32, std::move(sparsity)));
    // Facts llama.cpp's gemma3n graph hard-codes (as of 2025/2026): say when this checkpoint differs.
    if (cfg.altup_inputs != 4) plan.notes.push_back("llama.cpp's converter supports only 4 AltUp inputs");
    if (cfg.laurel_rank != 64) plan.notes.push_back(str_cat("llama.cpp assumes LAuReL rank 64; this model has ", cfg.laurel_rank));
    if (cfg.n_layers - cfg.n_kv_shared_layers != 20)
      plan.notes.push_back("llama.cpp assumes the first 20 gemma3n layers own their KV cache; this model differs");
    if (cfg.altup_coef_clip > 0)
      plan.notes.push_back("altup_coef_clip is not stored in GGUF (llama.cpp does not clip either)");
  }

  if (md.has("hf.tokenizer_json")) {
    add_gguf_tokenizer_from_hf(out, md.get_string("hf.tokenizer_json"), md.opt_string("hf.tokenizer_config_json").value_or(""),
                               config_text, cfg.vocab_size, arch, &plan.notes);
  } else if (auto spm = md.opt_string("hf.tokenizer_model_path")) {
    add_gguf_tokenizer_from_spm(out, SentencePieceReader::open(*spm), md.opt_string("hf.tokenizer_config_json").value_or(""),
                                cfg.vocab_size, arch, *spm, &plan.notes);
  } else {
    plan.notes.push_back("no tokenizer.json or tokenizer.model: the GGUF has no vocabulary (llama.cpp needs one)");
  }

  // Gemma 3n: the N - 1 AltUp (un)embedding projections become one stacked [N - 1, hidden, hidden] tensor each.
  std::map<std::string, std::vector<const TensorView*>> stacks;
  static const std::regex altup_re(R"(model\.(altup_projections|altup_unembed_projections)\.(\d+)\.weight)");
  for (const TensorView& t : src.tensors()) {
    if (is_non_text_tensor(t.name)) {
      plan.notes.push_back("dropped non-text tensor " + t.name);
      continue;
    }
    const std::string hf = hf_text_name(t.name);
    if (ends_with(hf, "rotary_emb.inv_freq")) continue;
    if (hf == "lm_head.weight" && cfg.tied_embeddings) {
      plan.notes.push_back("lm_head.weight dropped: embeddings are tied");
      continue;
    }
    std::smatch am;
    if (cfg.arch == ModelArch::Gemma3n && std::regex_match(hf, am, altup_re)) {
      const std::string out_name = am[1].str() == "altup_projections" ? "altup_proj.weight" : "altup_unembd_proj.weight";
      const size_t idx = std::stoul(am[2].str());
      if (idx + 1 >= static_cast<size_t>(cfg.altup_inputs))
        throw Error(str_cat("index ", idx, " is past altup_num_inputs - 1"), {src.path(), t.name, ""});
      auto& v = stacks[out_name];
      v.resize(static_cast<size_t>(cfg.altup_inputs - 1), nullptr);
      v[idx] = &t;
      continue;
    }
    const auto g = map_hf_to_gguf(hf, arch, cfg);
    if (!g) throw Error("cannot map this tensor to a GGUF name", {src.path(), t.name, ""});
    PlannedTensor p;
    p.name = g->name;
    p.source = &t;
    p.shape = t.shape;
    p.transform = g->transform;
    p.permute_heads = g->heads;
    // llama.cpp's gemma3n wants both embedding tables with vocab_size rows; the converter pads them with zeros.
    if (cfg.arch == ModelArch::Gemma3n && (p.name == "token_embd.weight" || p.name == "per_layer_token_embd.weight") &&
        p.shape.size() == 2 && p.shape[0] < cfg.vocab_size) {
      p.shape[0] = cfg.vocab_size;
      p.zero_pad_rows = true;
    }
    plan.tensors.push_back(std::move(p));
  }
  for (const char* name : {"altup_proj.weight", "altup_unembd_proj.weight"}) {
    if (cfg.arch != ModelArch::Gemma3n) break;
    auto it = stacks.find(name);
    if (it == stacks.end()) throw Error(str_cat("missing the AltUp projections for ", name), {src.path(), "", ""});
    for (size_t i = 0; i < it->second.size(); ++i)
      if (it->second[i] == nullptr) throw Error(str_cat("missing AltUp projection ", i, " for ", name), {src.path(), "", ""});
    PlannedTensor p;
    p.name = name;
    p.source = it->second[0];
    p.stack_rest.assign(it->second.begin() + 1, it->second.end());
    p.shape = {static_cast<int64_t>(it->second.size())};
    p.shape.insert(p.shape.end(), p.source->shape.begin(), p.source->shape.end());
    plan.tensors.push_back(std::move(p));
  }
  if (cfg.arch == ModelArch::Llama && cfg.rope_global.scaling == RopeConfig::Scaling::Llama3) {
    PlannedTensor p;
    p.name = "rope_freqs.weight";
    p.generated = llama3_rope_factors(cfg.rope_global, cfg.head_dim);
    p.shape = {static_cast<int64_t>(p.generated.size())};
    plan.tensors.push_back(std::move(p));
  }
}

// Fills each tensor's quant::TensorRole: kind by name, attn_v index/count, ffn_down layer/block count, GGUF ne[0]
// and ne[1], whether token_embd doubles as the LM head, and the type "keep" tensors stay in.
void assign_roles(ConversionPlan& plan) {
  int n_attn_v = 0, n_blocks = 0;
  bool has_output = false;
  for (PlannedTensor& t : plan.tensors) {
    t.role.kind = tensor_kind_for_name(t.name, static_cast<int>(t.shape.size()));
    if (t.role.kind == quant::TensorKind::attn_v) ++n_attn_v;
    if (t.role.kind == quant::TensorKind::output) has_output = true;
    n_blocks = std::max(n_blocks, quant::layer_from_gguf_name(gguf_style_name(t.name)) + 1);
  }
  int attn_v_index = 0;
  for (PlannedTensor& t : plan.tensors) {
    quant::TensorRole& r = t.role;
    r.cols = t.cols();
    r.rows = t.rows();
    if (r.kind == quant::TensorKind::attn_v) {
      r.layer = attn_v_index++;
      r.n_layers = n_attn_v;
    } else {
      r.layer = std::max(0, quant::layer_from_gguf_name(gguf_style_name(t.name)));
      r.n_layers = std::max(1, n_blocks);
    }
    r.tied_output = r.kind == quant::TensorKind::token_embd && !has_output &&
                    gguf_style_name(t.name) == "token_embd.weight";
    const DType src = t.source != nullptr ? t.source->dtype : DType::F32;
    r.unquantized_type = (src == DType::F32 || src == DType::F16 || src == DType::BF16) ? src : DType::F16;
  }
}

}  // namespace

ConversionPlan plan_conversion(const ModelSource& src, OutputFormat format) {
  ConversionPlan plan;
  plan.format = format;
  const Metadata& md = src.metadata();
  const bool hf = md.has("hf.config_json");
  plan.source_flavour = hf ? "hf" : "gguf";
  if (!hf && !md.has("general.architecture")) {
    throw Error("source has neither hf.config_json nor general.architecture; cannot tell what model it is", {src.path(), "", ""});
  }
  if (format == OutputFormat::Gguf && hf) {
    plan_hf_to_gguf(src, plan);
    assign_roles(plan);
    return plan;
  }
  plan_passthrough(src, plan);
  if (hf) {
    const ModelConfig cfg = config_from_hf_json(md.get_string("hf.config_json"), src.path() + "/config.json");
    plan.arch = model_arch_name(cfg.arch);
    // A tokenizer.model is a file beside the checkpoint: carry its vocabulary into the .ucn as tokenizer.ggml.*
    // keys (what the runtime reads), not the path.
    if (auto spm = md.opt_string("hf.tokenizer_model_path")) {
      plan.metadata.erase("hf.tokenizer_model_path");
      if (!md.has("hf.tokenizer_json"))
        add_gguf_tokenizer_from_spm(plan.metadata, SentencePieceReader::open(*spm),
                                    md.opt_string("hf.tokenizer_config_json").value_or(""), cfg.vocab_size, plan.arch,
                                    *spm, &plan.notes);
    }
  } else {
    plan.arch = md.get_string("general.architecture");
  }
  assign_roles(plan);
  return plan;
}

}  // namespace unicorn
