#include "runtime/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "base/error.h"
#include "runtime/tokenizer_impl.h"
#include "runtime/unicode.h"

namespace unicorn {
namespace {

const char* const kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (;;) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

int parse_byte_piece(std::string_view p) {
  if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return -1;
  int v = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else return -1;
  }
  return v;
}

}  // namespace

bool is_end_of_generation_text(std::string_view p) {
  static const char* const kTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                       "<|eom_id|>", "<EOT>", "<|end_of_text|>", "<end_of_utterance>"};
  for (const char* t : kTexts)
    if (p == t) return true;
  return false;
}

void TokenizerImpl::finish() {
  byte_tokens.fill(-1);
  for (size_t id = 0; id < pieces.size(); ++id) {
    const int b = parse_byte_piece(pieces[id]);
    if (b >= 0 && (kinds[id] == TokenKind::Byte || byte_fallback)) {
      if (byte_tokens[b] < 0) byte_tokens[b] = static_cast<int32_t>(id);
      if (kinds[id] == TokenKind::Normal) kinds[id] = TokenKind::Byte;
    }
  }
  // Longest first so that a trie walk can stop at the longest match.
  std::stable_sort(specials.begin(), specials.end(),
                   [](const SpecialToken& a, const SpecialToken& b) { return a.text.size() > b.text.size(); });
  trie_.assign(1, TrieNode{});
  for (size_t s = 0; s < specials.size(); ++s) {
    if (specials[s].text.empty()) continue;
    int32_t node = 0;
    for (char c : specials[s].text) {
      auto it = trie_[node].next.find(static_cast<uint8_t>(c));
      if (it == trie_[node].next.end()) {
        trie_.push_back(TrieNode{});
        const int32_t child = static_cast<int32_t>(trie_.size() - 1);
        trie_[node].next.emplace(static_cast<uint8_t>(c), child);
        node = child;
      } else {
        node = it->second;
      }
    }
    if (trie_[node].special < 0) trie_[node].special = static_cast<int32_t>(s);
  }
  // End of generation: eos plus the end-of-turn tokens the vocabulary has.
  std::vector<int32_t> e = eog;
  if (eos >= 0) e.push_back(eos);
  for (size_t id = 0; id < pieces.size(); ++id)
    if (kinds[id] != TokenKind::Normal && kinds[id] != TokenKind::Byte && is_end_of_generation_text(pieces[id]))
      e.push_back(static_cast<int32_t>(id));
  std::sort(e.begin(), e.end());
  e.erase(std::unique(e.begin(), e.end()), e.end());
  eog = e;
}

void TokenizerImpl::encode(std::string_view text, bool parse_special, std::vector<int32_t>& out) const {
  size_t frag_begin = 0;   // start of the pending raw text
  bool after_special = true;  // the start of the text counts as "after a special token"
  size_t pos = 0;
  auto flush = [&](size_t end) {
    if (end > frag_begin) {
      encode_fragment(text.substr(frag_begin, end - frag_begin), after_special, frag_begin == 0, out);
      after_special = false;
    }
  };
  while (pos < text.size()) {
    // Longest special token starting at pos.
    int32_t node = 0, found = -1;
    size_t found_len = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      auto it = trie_[node].next.find(static_cast<uint8_t>(text[i]));
      if (it == trie_[node].next.end()) break;
      node = it->second;
      const int32_t s = trie_[node].special;
      if (s >= 0 && (parse_special || !specials[s].needs_parse_special)) {
        found = s;
        found_len = i + 1 - pos;
      }
    }
    if (found < 0) {
      ++pos;
      continue;
    }
    const SpecialToken& st = specials[found];
    size_t left_end = pos;
    if (st.lstrip)
      while (left_end > frag_begin && is_ascii_space(text[left_end - 1])) --left_end;
    flush(left_end);
    out.push_back(st.id);
    after_special = true;
    pos += found_len;
    if (st.rstrip)
      while (pos < text.size() && is_ascii_space(text[pos])) ++pos;
    frag_begin = pos;
  }
  flush(text.size());
}

void TokenizerImpl::encode_fragment(std::string_view text, bool after_special, bool at_text_start,
                                    std::vector<int32_t>& out) const {
  std::string s;
  if (add_space_prefix && after_special) s = " ";
  s.append(text);
  for (const NormalizerStep& n : normalizers) {
    switch (n.kind) {
      case NormalizerStep::Kind::Replace: replace_all(s, n.from, n.to); break;
      case NormalizerStep::Kind::Prepend:
        if (!s.empty()) s.insert(0, n.to);
        break;
      case NormalizerStep::Kind::Lowercase: {
        std::string low;
        size_t p = 0;
        while (p < s.size()) unicode::append_utf8(low, unicode::to_lower(unicode::decode_utf8(s, p)));
        s.swap(low);
        break;
      }
    }
  }
  if (escape_spaces) replace_all(s, " ", kSpaceMark);
  if (s.empty()) return;

  if (model == ModelKind::Spm) {
    if (!pre_steps.empty()) {
      std::vector<std::string> words;
      pre_tokenize(std::move(s), at_text_start, words);
      for (const auto& w : words) encode_spm(w, out);
    } else {
      encode_spm(s, out);
    }
    return;
  }
  std::vector<std::string> words;
  pre_tokenize(std::move(s), at_text_start, words);
  for (const auto& w : words) {
    if (ignore_merges) {
      const int32_t id = find(w);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    encode_bpe(w, out);
  }
}

void TokenizerImpl::pre_tokenize(std::string text, bool at_text_start, std::vector<std::string>& words) const {
  words.clear();
  words.push_back(std::move(text));
  std::vector<std::pair<size_t, size_t>> spans;
  for (const PreTokenizerStep& step : pre_steps) {
    std::vector<std::string> next;
    next.reserve(words.size());
    for (size_t wi = 0; wi < words.size(); ++wi) {
      std::string& w = words[wi];
      switch (step.kind) {
        case PreTokenizerStep::Kind::Split:
        case PreTokenizerStep::Kind::Digits: {
          const std::vector<uint32_t> cpts = unicode::to_cpts(w);
          spans.clear();
          if (step.kind == PreTokenizerStep::Kind::Split) {
            regex_split(*step.regex, cpts, 0, cpts.size(), step.behavior, step.invert, spans);
          } else {
            static const Regex digit("\\p{Nd}");
            static const Regex digits("\\p{Nd}+");
            regex_split(step.individual_digits ? digit : digits, cpts, 0, cpts.size(), SplitBehavior::Isolated,
                        false, spans);
          }
          for (const auto& [b, e] : spans) {
            std::string piece;
            for (size_t i = b; i < e; ++i) unicode::append_utf8(piece, cpts[i]);
            next.push_back(std::move(piece));
          }
          break;
        }
        case PreTokenizerStep::Kind::ByteLevel: {
          if (step.add_prefix_space && (w.empty() || w[0] != ' ')) w = " " + w;
          if (step.use_regex) {
            static const Regex gpt2(
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
            const std::vector<uint32_t> cpts = unicode::to_cpts(w);
            spans.clear();
            regex_split(gpt2, cpts, 0, cpts.size(), SplitBehavior::Isolated, false, spans);
            for (const auto& [b, e] : spans) {
              std::string piece;
              for (size_t i = b; i < e; ++i) unicode::append_utf8(piece, cpts[i]);
              next.push_back(unicode::bytes_to_bpe_text(piece));
            }
          } else {
            next.push_back(unicode::bytes_to_bpe_text(w));
          }
          break;
        }
        case PreTokenizerStep::Kind::Metaspace: {
          replace_all(w, " ", step.replacement);
          const bool prepend = step.prepend_scheme == "always" || (step.prepend_scheme == "first" && at_text_start && wi == 0);
          if (prepend && w.compare(0, step.replacement.size(), step.replacement) != 0) w.insert(0, step.replacement);
          if (!step.split) {
            next.push_back(std::move(w));
            break;
          }
          // Split before each replacement character (it starts the next piece).
          size_t start = 0, p = 0;
          while ((p = w.find(step.replacement, p)) != std::string::npos) {
            if (p > start) next.push_back(w.substr(start, p - start));
            start = p;
            p += step.replacement.size();
          }
          if (start < w.size()) next.push_back(w.substr(start));
          break;
        }
      }
    }
    words.swap(next);
  }
  words.erase(std::remove_if(words.begin(), words.end(), [](const std::string& w) { return w.empty(); }),
              words.end());
}

void TokenizerImpl::push_unknown_bytes(std::string_view bytes, std::vector<int32_t>& out) const {
  for (char c : bytes) {
    const int32_t b = byte_tokens[static_cast<uint8_t>(c)];
    if (b >= 0) {
      out.push_back(b);
      continue;
    }
    const int32_t single = find(std::string_view(&c, 1));
    if (single >= 0) out.push_back(single);
    else if (unk_id >= 0) out.push_back(unk_id);
  }
}

std::string TokenizerImpl::decode_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= pieces.size()) fail("token id ", id, " is out of range (vocabulary of ", pieces.size(), ")");
  const std::string& p = pieces[id];
  switch (kinds[id]) {
    case TokenKind::Byte: {
      const int b = parse_byte_piece(p);
      if (b >= 0) return std::string(1, static_cast<char>(b));
      break;
    }
    case TokenKind::Control:
    case TokenKind::Unknown:
    case TokenKind::UserDefined:
      if (!decode_specials_too) return p;
      break;
    default:
      break;
  }
  std::string s;
  if (decode_byte_level) {
    unicode::bpe_text_to_bytes(p, s);
  } else {
    s = p;
  }
  for (const auto& [from, to] : decode_replace) replace_all(s, from, to);
  return s;
}

// ---------------------------------------------------------------------------------------------------------------

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_bos && impl_->bos >= 0) out.push_back(impl_->bos);
  impl_->encode(text, parse_special, out);
  return out;
}

std::string Tokenizer::decode_token(int32_t id) const { return impl_->decode_token(id); }

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string piece = impl_->decode_token(ids[i]);
    // Like llama.cpp and HF's Strip decoder: only a leading space of the very first token goes ("<s> Hello" keeps it).
    if (i == 0 && impl_->strip_leading_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    out += piece;
  }
  return out;
}

const std::string& Tokenizer::piece(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->pieces.size())
    fail("token id ", id, " is out of range (vocabulary of ", impl_->pieces.size(), ")");
  return impl_->pieces[id];
}

int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
std::vector<int32_t> Tokenizer::eog_ids() const { return impl_->eog; }
bool Tokenizer::is_eog(int32_t id) const { return std::binary_search(impl_->eog.begin(), impl_->eog.end(), id); }
int Tokenizer::vocab_size() const { return static_cast<int>(impl_->pieces.size()); }
std::optional<int32_t> Tokenizer::token_id(std::string_view piece) const {
  const int32_t id = impl_->find(piece);
  if (id < 0) return std::nullopt;
  return id;
}
bool Tokenizer::add_bos_default() const { return impl_->add_bos; }
std::string Tokenizer::chat_template() const { return impl_->chat_template; }
std::string Tokenizer::description() const { return impl_->description; }

}  // namespace unicorn
