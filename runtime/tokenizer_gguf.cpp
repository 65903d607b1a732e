// Tokenizer from GGUF metadata (tokenizer.ggml.*), following llama.cpp's conventions for defaults.
#include <algorithm>
#include <cctype>

#include "base/error.h"
#include "runtime/pretokenize.h"
#include "runtime/convert.h"
#include "formats/sentencepiece.h"
#include "runtime/tokenizer.h"
#include "runtime/tokenizer_impl.h"

namespace unicorn {
namespace {

const MetaArray& require_array(const Metadata& md, const std::string& key) {
  const MetaValue* v = md.find(key);
  if (v == nullptr) fail_in({"", "", key}, "missing");
  if (v->type != MetaType::ARRAY) fail_in({"", "", key}, "expected an array, got ", meta_type_name(v->type));
  return v->as_array();
}

std::optional<bool> opt_bool(const Metadata& md, const std::string& key) {
  const MetaValue* v = md.find(key);
  if (v == nullptr) return std::nullopt;
  try {
    if (v->type == MetaType::BOOL) return v->as_bool();
    return v->as_int() != 0;
  } catch (const Error& e) {
    fail_in({"", "", key}, e.message());
  }
}

int32_t opt_token_id(const Metadata& md, const std::string& key, int32_t fallback, size_t n_vocab) {
  const MetaValue* v = md.find(key);
  if (v == nullptr) return fallback;
  int64_t id;
  try {
    id = v->as_int();
  } catch (const Error& e) {
    fail_in({"", "", key}, e.message());
  }
  if (id < 0 || static_cast<uint64_t>(id) >= n_vocab) return fallback;  // llama.cpp ignores bad ids, so do we
  return static_cast<int32_t>(id);
}

}  // namespace


std::unique_ptr<Tokenizer> Tokenizer::from_sentencepiece_file(const std::string& path, const std::string& tokenizer_config_json) {
  Metadata md;
  add_gguf_tokenizer_from_spm(md, SentencePieceReader::open(path), tokenizer_config_json, 0, "", path, nullptr);
  try {
    return from_metadata(md);
  } catch (const Error& e) {
    throw e.with_file(path);
  }
}

std::unique_ptr<Tokenizer> Tokenizer::from_metadata(const Metadata& md) {
  if (!md.has("tokenizer.ggml.model")) {
    if (auto json = md.opt_string("hf.tokenizer_json"))
      return from_hf_json(*json, md.opt_string("hf.tokenizer_config_json").value_or(""));
    if (auto spm = md.opt_string("hf.tokenizer_model_path"))
      return from_sentencepiece_file(*spm, md.opt_string("hf.tokenizer_config_json").value_or(""));
    fail("the model has no tokenizer (neither tokenizer.ggml.model, tokenizer.json nor tokenizer.model)");
  }
  auto t = std::make_unique<TokenizerImpl>();
  const std::string model = md.get_string("tokenizer.ggml.model");
  const std::string pre = md.opt_string("tokenizer.ggml.pre").value_or("");

  const MetaArray& tokens = require_array(md, "tokenizer.ggml.tokens");
  const size_t n = tokens.items.size();
  if (n == 0) fail_in({"", "", "tokenizer.ggml.tokens"}, "empty vocabulary");
  if (n > (1u << 30)) fail_in({"", "", "tokenizer.ggml.tokens"}, "absurd vocabulary size ", n);
  t->pieces.resize(n);
  t->kinds.assign(n, TokenKind::Normal);
  t->piece_to_id.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    if (tokens.items[i].type != MetaType::STRING) fail_in({"", "", "tokenizer.ggml.tokens"}, "item ", i, " is not a string");
    t->pieces[i] = tokens.items[i].as_string();
    // First occurrence wins for duplicate pieces (llama.cpp keeps the last; duplicates do not occur in practice).
    t->piece_to_id.emplace(t->pieces[i], static_cast<int32_t>(i));
  }
  if (const MetaValue* v = md.find("tokenizer.ggml.scores")) {
    const MetaArray& a = require_array(md, "tokenizer.ggml.scores");
    (void)v;
    if (a.items.size() != n) fail_in({"", "", "tokenizer.ggml.scores"}, "has ", a.items.size(), " items for ", n, " tokens");
    t->scores.resize(n);
    for (size_t i = 0; i < n; ++i) t->scores[i] = static_cast<float>(a.items[i].as_double());
  }
  if (md.has("tokenizer.ggml.token_type")) {
    const MetaArray& a = require_array(md, "tokenizer.ggml.token_type");
    if (a.items.size() != n) fail_in({"", "", "tokenizer.ggml.token_type"}, "has ", a.items.size(), " items for ", n, " tokens");
    for (size_t i = 0; i < n; ++i) {
      const int64_t k = a.items[i].as_int();
      t->kinds[i] = (k >= 1 && k <= 6) ? static_cast<TokenKind>(k) : TokenKind::Unused;
    }
  }

  int32_t default_bos = -1, default_eos = -1, default_unk = -1;
  bool add_bos = false;
  if (model == "llama") {
    t->model = ModelKind::Spm;
    t->description = "gguf llama (SentencePiece)";
    default_bos = 1;
    default_eos = 2;
    default_unk = 0;
    add_bos = true;
    t->add_space_prefix = true;
    t->escape_spaces = true;
    t->decode_replace = {{"\xE2\x96\x81", " "}};
  } else if (model == "gpt2") {
    t->model = ModelKind::Bpe;
    t->description = str_cat("gguf gpt2 (byte-level BPE, pre=", pre.empty() ? "default" : pre, ")");
    const PreTokenizerPreset preset = pre_tokenizer_preset(pre);
    for (const std::string& re : preset.regexes) {
      PreTokenizerStep step;
      step.kind = PreTokenizerStep::Kind::Split;
      step.regex = std::make_shared<Regex>(re);
      t->pre_steps.push_back(std::move(step));
    }
    PreTokenizerStep bytes;
    bytes.kind = PreTokenizerStep::Kind::ByteLevel;
    bytes.use_regex = false;
    t->pre_steps.push_back(std::move(bytes));
    t->ignore_merges = preset.ignore_merges;
    add_bos = preset.add_bos;
    t->decode_byte_level = true;
    default_bos = default_eos = 11 < static_cast<int32_t>(n) ? 11 : -1;

    const MetaArray& merges = require_array(md, "tokenizer.ggml.merges");
    t->merges.reserve(merges.items.size() * 2);
    for (size_t r = 0; r < merges.items.size(); ++r) {
      const std::string& m = merges.items[r].as_string();
      const size_t sp = m.find(' ', 1);
      if (sp == std::string::npos) fail_in({"", "", "tokenizer.ggml.merges"}, "item ", r, " has no space: '", m, "'");
      const int32_t a = t->find(std::string_view(m).substr(0, sp));
      const int32_t b = t->find(std::string_view(m).substr(sp + 1));
      const int32_t ab = t->find(std::string(m.substr(0, sp)) + m.substr(sp + 1));
      if (a < 0 || b < 0 || ab < 0) continue;  // a merge that cannot produce a vocabulary piece never applies
      const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
      t->merges.emplace(key, std::make_pair(static_cast<int32_t>(r), ab));
    }
  } else {
    fail_in({"", "", "tokenizer.ggml.model"}, "tokenizer model '", model, "' is not supported (llama, gpt2 are)");
  }

  if (auto v = opt_bool(md, "tokenizer.ggml.add_space_prefix")) t->add_space_prefix = *v;
  t->strip_leading_space = t->add_space_prefix;
  if (auto v = opt_bool(md, "tokenizer.ggml.add_bos_token")) add_bos = *v;
  t->add_bos = add_bos;
  t->bos = opt_token_id(md, "tokenizer.ggml.bos_token_id", default_bos, n);
  t->eos = opt_token_id(md, "tokenizer.ggml.eos_token_id", default_eos, n);
  t->unk_id = opt_token_id(md, "tokenizer.ggml.unknown_token_id", default_unk, n);
  for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    const int32_t id = opt_token_id(md, key, -1, n);
    if (id >= 0) t->eog.push_back(id);
  }
  t->chat_template = md.opt_string("tokenizer.chat_template").value_or("");

  // Tokens matched in raw text before the model, as llama.cpp does: control, user-defined and unknown tokens.
  std::string name = md.opt_string("general.name").value_or("");
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool phi3 = name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos;
  for (size_t i = 0; i < n; ++i) {
    const TokenKind k = t->kinds[i];
    if (k != TokenKind::Control && k != TokenKind::UserDefined && k != TokenKind::Unknown) continue;
    SpecialToken s;
    s.text = t->pieces[i];
    s.id = static_cast<int32_t>(i);
    s.needs_parse_special = k != TokenKind::UserDefined;
    // llama.cpp's Phi-3 rule: special tokens swallow the whitespace after them, except <unk>, <s>, <|endoftext|>.
    s.rstrip = phi3 && s.text != "<unk>" && s.text != "<s>" && s.text != "<|endoftext|>";
    t->specials.push_back(std::move(s));
  }
  t->finish();
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(t)));
}

}  // namespace unicorn
