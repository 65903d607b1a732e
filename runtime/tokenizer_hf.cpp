// Tokenizer from HF tokenizer.json (+ tokenizer_config.json): BPE model (byte-level or byte fallback), the
// normalizers / pre-tokenizers / decoders that Llama, Gemma and GPT-2 style tokenizers use, added tokens.
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "runtime/tokenizer.h"
#include "runtime/tokenizer_impl.h"
#include "runtime/unicode.h"

namespace unicorn {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& msg) { fail_in({"tokenizer.json", "", field}, msg); }

std::string str_field(const json& j, const char* key, const std::string& ctx, const std::string& fallback = "") {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) bad(ctx + "." + key, "expected a string");
  return j[key].get<std::string>();
}

bool bool_field(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) return fallback;
  return j[key].get<bool>();
}

// A regex that matches `s` literally.
std::string escape_regex(const std::string& s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    const uint32_t cp = unicode::decode_utf8(s, pos);
    if (cp < 128 && !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == ' ')) {
      if (cp == '\n') { out += "\\n"; continue; }
      if (cp == '\r') { out += "\\r"; continue; }
      if (cp == '\t') { out += "\\t"; continue; }
      if (cp < 0x20 || cp == 0x7F) {
        static const char* hex = "0123456789ABCDEF";
        out += "\\x";
        out.push_back(hex[cp >> 4]);
        out.push_back(hex[cp & 15]);
        continue;
      }
      out.push_back('\\');
    }
    unicode::append_utf8(out, cp);
  }
  return out;
}

// {"String": s} or {"Regex": r} -> a regex source.
std::string pattern_regex(const json& pat, const std::string& ctx) {
  if (pat.is_object() && pat.contains("String") && pat["String"].is_string()) return escape_regex(pat["String"].get<std::string>());
  if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) return pat["Regex"].get<std::string>();
  bad(ctx + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
}

void add_normalizer(TokenizerImpl& t, const json& n, const std::string& ctx) {
  if (n.is_null()) return;
  const std::string type = str_field(n, "type", ctx);
  if (type == "Sequence") {
    if (!n.contains("normalizers") || !n["normalizers"].is_array()) bad(ctx + ".normalizers", "expected an array");
    for (size_t i = 0; i < n["normalizers"].size(); ++i) add_normalizer(t, n["normalizers"][i], str_cat(ctx, ".normalizers[", i, "]"));
  } else if (type == "Replace") {
    const json& pat = n.value("pattern", json());
    if (!pat.is_object() || !pat.contains("String")) bad(ctx + ".pattern", "only String patterns are supported in Replace");
    t.normalizers.push_back({NormalizerStep::Kind::Replace, pat["String"].get<std::string>(), str_field(n, "content", ctx)});
  } else if (type == "Prepend") {
    t.normalizers.push_back({NormalizerStep::Kind::Prepend, "", str_field(n, "prepend", ctx)});
  } else if (type == "Lowercase") {
    t.normalizers.push_back({NormalizerStep::Kind::Lowercase, "", ""});
  } else {
    bad(ctx + ".type", "normalizer '" + type + "' is not supported");
  }
}

SplitBehavior parse_behavior(const std::string& b, const std::string& ctx) {
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  bad(ctx + ".behavior", "unknown split behavior '" + b + "'");
}

void add_pre_tokenizer(TokenizerImpl& t, const json& p, const std::string& ctx) {
  if (p.is_null()) return;
  const std::string type = str_field(p, "type", ctx);
  PreTokenizerStep step;
  if (type == "Sequence") {
    if (!p.contains("pretokenizers") || !p["pretokenizers"].is_array()) bad(ctx + ".pretokenizers", "expected an array");
    for (size_t i = 0; i < p["pretokenizers"].size(); ++i)
      add_pre_tokenizer(t, p["pretokenizers"][i], str_cat(ctx, ".pretokenizers[", i, "]"));
    return;
  } else if (type == "Split") {
    step.kind = PreTokenizerStep::Kind::Split;
    try {
      step.regex = std::make_shared<Regex>(pattern_regex(p.value("pattern", json()), ctx));
    } catch (const Error& e) {
      bad(ctx + ".pattern", e.message());
    }
    step.behavior = parse_behavior(str_field(p, "behavior", ctx, "Isolated"), ctx);
    step.invert = bool_field(p, "invert", false);
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::ByteLevel;
    step.add_prefix_space = bool_field(p, "add_prefix_space", true);
    step.use_regex = bool_field(p, "use_regex", true);
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerStep::Kind::Metaspace;
    step.replacement = str_field(p, "replacement", ctx, "\xE2\x96\x81");
    if (p.contains("prepend_scheme") && p["prepend_scheme"].is_string()) step.prepend_scheme = p["prepend_scheme"].get<std::string>();
    else step.prepend_scheme = bool_field(p, "add_prefix_space", true) ? "always" : "never";
    step.split = bool_field(p, "split", true);
  } else if (type == "Digits") {
    step.kind = PreTokenizerStep::Kind::Digits;
    step.individual_digits = bool_field(p, "individual_digits", false);
  } else {
    bad(ctx + ".type", "pre-tokenizer '" + type + "' is not supported");
  }
  t.pre_steps.push_back(std::move(step));
}

void add_decoder(TokenizerImpl& t, const json& d, const std::string& ctx) {
  if (d.is_null()) return;
  const std::string type = str_field(d, "type", ctx);
  if (type == "Sequence") {
    if (!d.contains("decoders") || !d["decoders"].is_array()) bad(ctx + ".decoders", "expected an array");
    for (size_t i = 0; i < d["decoders"].size(); ++i) add_decoder(t, d["decoders"][i], str_cat(ctx, ".decoders[", i, "]"));
  } else if (type == "ByteLevel") {
    t.decode_byte_level = true;
  } else if (type == "Replace") {
    const json& pat = d.value("pattern", json());
    if (!pat.is_object() || !pat.contains("String")) bad(ctx + ".pattern", "only String patterns are supported in Replace");
    t.decode_replace.emplace_back(pat["String"].get<std::string>(), str_field(d, "content", ctx));
  } else if (type == "ByteFallback" || type == "Fuse") {
    // <0xXX> pieces decode to their byte (TokenKind::Byte); fusing is what decode() does anyway.
  } else if (type == "Strip") {
    const std::string content = str_field(d, "content", ctx, " ");
    if (content == " " && d.value("start", 0) >= 1) t.strip_leading_space = true;
  } else if (type == "Metaspace") {
    t.decode_replace.emplace_back(str_field(d, "replacement", ctx, "\xE2\x96\x81"), " ");
    const std::string scheme = str_field(d, "prepend_scheme", ctx, bool_field(d, "add_prefix_space", true) ? "always" : "never");
    if (scheme != "never") t.strip_leading_space = true;
  } else {
    bad(ctx + ".type", "decoder '" + type + "' is not supported");
  }
}

// "bos_token": "<bos>" or {"content": "<bos>", ...}
std::string token_text(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return "";
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_hf_json(const std::string& json_text, const std::string& config_text) {
  json j, cfg;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    fail_in({"tokenizer.json", "", ""}, "invalid JSON: ", e.what());
  }
  if (!config_text.empty()) {
    try {
      cfg = json::parse(config_text);
    } catch (const json::exception& e) {
      fail_in({"tokenizer_config.json", "", ""}, "invalid JSON: ", e.what());
    }
  }
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) bad("model", "missing");
  const json& m = j["model"];
  const std::string mtype = str_field(m, "type", "model", "BPE");
  if (mtype != "BPE") bad("model.type", "model type '" + mtype + "' is not supported (BPE is)");
  if (!m.contains("vocab") || !m["vocab"].is_object()) bad("model.vocab", "expected an object");
  if (!str_field(m, "continuing_subword_prefix", "model").empty() || !str_field(m, "end_of_word_suffix", "model").empty())
    bad("model", "continuing_subword_prefix / end_of_word_suffix are not supported");

  auto t = std::make_unique<TokenizerImpl>();
  t->model = ModelKind::Bpe;
  t->description = "hf tokenizer.json (BPE)";
  t->decode_specials_too = true;
  t->byte_fallback = bool_field(m, "byte_fallback", false);
  t->ignore_merges = bool_field(m, "ignore_merges", false);
  t->fuse_unk = bool_field(m, "fuse_unk", false);

  // Ids come from the vocabulary and the added tokens; size the table by the largest.
  int64_t max_id = -1;
  for (const auto& [piece, idv] : m["vocab"].items()) {
    if (!idv.is_number_integer()) bad("model.vocab", "id of '" + piece + "' is not an integer");
    const int64_t id = idv.get<int64_t>();
    if (id < 0 || id >= (1 << 30)) bad("model.vocab", str_cat("id ", id, " of '", piece, "' is out of range"));
    max_id = std::max(max_id, id);
  }
  const json added = j.value("added_tokens", json::array());
  if (!added.is_array()) bad("added_tokens", "expected an array");
  for (const auto& a : added) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string())
      bad("added_tokens", "each entry needs an integer id and a string content");
    const int64_t id = a["id"].get<int64_t>();
    if (id < 0 || id >= (1 << 30)) bad("added_tokens", str_cat("id ", id, " is out of range"));
    max_id = std::max(max_id, id);
  }
  if (max_id < 0) bad("model.vocab", "empty vocabulary");
  const size_t n = static_cast<size_t>(max_id + 1);
  t->pieces.assign(n, std::string());
  t->kinds.assign(n, TokenKind::Unused);
  std::vector<bool> seen(n, false);
  for (const auto& [piece, idv] : m["vocab"].items()) {
    const size_t id = static_cast<size_t>(idv.get<int64_t>());
    t->pieces[id] = piece;
    t->kinds[id] = TokenKind::Normal;
    seen[id] = true;
  }
  for (const auto& a : added) {
    const size_t id = static_cast<size_t>(a["id"].get<int64_t>());
    const bool special = bool_field(a, "special", false);
    t->pieces[id] = a["content"].get<std::string>();
    t->kinds[id] = special ? TokenKind::Control : TokenKind::UserDefined;
    seen[id] = true;
    SpecialToken s;
    s.text = t->pieces[id];
    s.id = static_cast<int32_t>(id);
    s.needs_parse_special = special;
    s.lstrip = bool_field(a, "lstrip", false);
    s.rstrip = bool_field(a, "rstrip", false);
    t->specials.push_back(std::move(s));
  }
  t->piece_to_id.reserve(n * 2);
  for (size_t id = 0; id < n; ++id)
    if (seen[id]) t->piece_to_id.emplace(t->pieces[id], static_cast<int32_t>(id));

  const std::string unk = str_field(m, "unk_token", "model");
  if (!unk.empty()) {
    t->unk_id = t->find(unk);
    if (t->unk_id >= 0 && t->kinds[t->unk_id] == TokenKind::Normal) t->kinds[t->unk_id] = TokenKind::Unknown;
  }

  // Merges: "a b" strings (older files) or ["a", "b"] pairs. Rank = position; a later duplicate wins, as in HF.
  const json merges = m.value("merges", json::array());
  if (!merges.is_array()) bad("model.merges", "expected an array");
  t->merges.reserve(merges.size() * 2);
  std::string joined;
  for (size_t r = 0; r < merges.size(); ++r) {
    const json& mg = merges[r];
    std::string a, b;
    if (mg.is_string()) {
      const std::string& s = mg.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos) bad("model.merges", str_cat("item ", r, " has no space"));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
      a = mg[0].get<std::string>();
      b = mg[1].get<std::string>();
    } else {
      bad("model.merges", str_cat("item ", r, " is neither \"a b\" nor [\"a\", \"b\"]"));
    }
    const int32_t ia = t->find(a), ib = t->find(b);
    joined = a;
    joined += b;
    const int32_t iab = t->find(joined);
    if (ia < 0 || ib < 0 || iab < 0) continue;
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(ia)) << 32) | static_cast<uint32_t>(ib);
    t->merges.insert_or_assign(key, std::make_pair(static_cast<int32_t>(r), iab));
  }

  add_normalizer(*t, j.value("normalizer", json()), "normalizer");
  add_pre_tokenizer(*t, j.value("pre_tokenizer", json()), "pre_tokenizer");
  add_decoder(*t, j.value("decoder", json()), "decoder");

  // BOS: tokenizer_config.json's bos_token, else the special token a TemplateProcessing puts first.
  std::string bos_text = token_text(cfg, "bos_token");
  bool template_bos = false;
  const json pp = j.value("post_processor", json());
  auto scan_template = [&](const json& proc) {
    if (!proc.is_object() || proc.value("type", "") != "TemplateProcessing") return;
    const json single = proc.value("single", json::array());
    if (single.is_array() && !single.empty() && single[0].contains("SpecialToken")) {
      const std::string id = single[0]["SpecialToken"].value("id", "");
      if (bos_text.empty()) bos_text = id;
      if (id == bos_text) template_bos = true;
    }
  };
  scan_template(pp);
  if (pp.is_object() && pp.value("type", "") == "Sequence")
    for (const auto& proc : pp.value("processors", json::array())) scan_template(proc);
  if (!bos_text.empty()) t->bos = t->find(bos_text);
  if (cfg.is_object() && cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean())
    t->add_bos = cfg["add_bos_token"].get<bool>() && t->bos >= 0;
  else
    t->add_bos = template_bos && t->bos >= 0;

  std::string eos_text = token_text(cfg, "eos_token");
  if (eos_text.empty()) {
    for (const char* cand : {"<eos>", "</s>", "<|endoftext|>", "<|end_of_text|>"})
      if (t->find(cand) >= 0) {
        eos_text = cand;
        break;
      }
  }
  if (!eos_text.empty()) t->eos = t->find(eos_text);
  // Chat models name their end-of-turn token as eos in tokenizer_config.json; the plain end-of-sequence token
  // still ends generation (Gemma: <end_of_turn> and <eos>).
  for (const char* cand : {"<eos>", "</s>"}) {
    const int32_t id = t->find(cand);
    if (id >= 0 && t->kinds[id] == TokenKind::Control) t->eog.push_back(id);
  }

  if (cfg.is_object() && cfg.contains("chat_template")) {
    const json& ct = cfg["chat_template"];
    if (ct.is_string()) {
      t->chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {  // [{"name": "default", "template": "..."}, ...]
      for (const auto& e : ct)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
          t->chat_template = e["template"].get<std::string>();
      if (t->chat_template.empty() && !ct.empty() && ct[0].is_object() && ct[0].contains("template") && ct[0]["template"].is_string())
        t->chat_template = ct[0]["template"].get<std::string>();
    }
  }
  t->finish();
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(t)));
}

}  // namespace unicorn
