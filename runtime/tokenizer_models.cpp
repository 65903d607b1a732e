// The two merge algorithms: SentencePiece-style score-driven merging and rank-driven BPE.
#include <queue>

#include "runtime/tokenizer_impl.h"
#include "runtime/unicode.h"

namespace unicorn {
namespace {

struct Symbol {
  uint32_t begin, end;  // byte range in the text
  int32_t prev, next;   // linked list over live symbols (-1 = none)
  int32_t id;           // BPE: current token id (-1 = not in the vocabulary)
};

// Splits text into UTF-8 characters (a truncated sequence at the end becomes its own short symbol).
std::vector<Symbol> char_symbols(std::string_view text) {
  std::vector<Symbol> syms;
  syms.reserve(text.size());
  size_t off = 0;
  while (off < text.size()) {
    const size_t len = std::min(unicode::utf8_len(static_cast<uint8_t>(text[off])), text.size() - off);
    const int32_t idx = static_cast<int32_t>(syms.size());
    syms.push_back({static_cast<uint32_t>(off), static_cast<uint32_t>(off + len), idx - 1, -1, -1});
    off += len;
  }
  for (size_t i = 0; i + 1 < syms.size(); ++i) syms[i].next = static_cast<int32_t>(i + 1);
  return syms;
}

}  // namespace

// SentencePiece BPE as llama.cpp runs it: start from characters, repeatedly merge the adjacent pair whose
// concatenation is a piece with the highest score (ties: leftmost), then map leftovers to byte tokens.
void TokenizerImpl::encode_spm(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Symbol> syms = char_symbols(text);
  if (syms.empty()) return;
  struct Bigram {
    float score;
    int32_t left, right;
    uint32_t size;
  };
  auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const std::string_view joined = text.substr(syms[left].begin, syms[right].end - syms[left].begin);
    const int32_t id = find(joined);
    if (id < 0) return;
    queue.push({scores.empty() ? 0.0f : scores[id], left, right, static_cast<uint32_t>(joined.size())});
  };
  for (size_t i = 1; i < syms.size(); ++i) try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  while (!queue.empty()) {
    const Bigram bg = queue.top();
    queue.pop();
    Symbol& l = syms[bg.left];
    Symbol& r = syms[bg.right];
    // Stale entry: one side was merged away or changed since it was queued.
    if (l.begin == l.end || r.begin == r.end || l.next != bg.right || (r.end - l.begin) != bg.size) continue;
    l.end = r.end;
    r.begin = r.end;  // dead
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = bg.left;
    try_add(l.prev, bg.left);
    try_add(bg.left, l.next);
  }
  for (int32_t i = 0; i != -1; i = syms[i].next) {
    const std::string_view piece = text.substr(syms[i].begin, syms[i].end - syms[i].begin);
    const int32_t id = find(piece);
    if (id >= 0) out.push_back(id);
    else push_unknown_bytes(piece, out);
  }
}

// BPE by merge rank (GPT-2 / HF): start from characters (or byte tokens with byte fallback), repeatedly apply the
// lowest-ranked merge present (ties: leftmost).
void TokenizerImpl::encode_bpe(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<Symbol> syms;
  syms.reserve(word.size());
  {
    size_t off = 0;
    while (off < word.size()) {
      const size_t len = std::min(unicode::utf8_len(static_cast<uint8_t>(word[off])), word.size() - off);
      const std::string_view ch = word.substr(off, len);
      int32_t id = find(ch);
      if (id < 0 && byte_fallback) {
        bool all = true;
        for (char c : ch) all = all && byte_tokens[static_cast<uint8_t>(c)] >= 0;
        if (all) {
          for (size_t k = 0; k < len; ++k) {
            syms.push_back({static_cast<uint32_t>(off + k), static_cast<uint32_t>(off + k + 1), -1, -1,
                            byte_tokens[static_cast<uint8_t>(ch[k])]});
          }
          off += len;
          continue;
        }
      }
      syms.push_back({static_cast<uint32_t>(off), static_cast<uint32_t>(off + len), -1, -1, id});
      off += len;
    }
    for (size_t i = 0; i < syms.size(); ++i) {
      syms[i].prev = static_cast<int32_t>(i) - 1;
      syms[i].next = i + 1 < syms.size() ? static_cast<int32_t>(i + 1) : -1;
    }
  }
  if (syms.empty()) return;

  struct Merge {
    int32_t rank;
    int32_t left;
    int32_t left_id, right_id, new_id;
  };
  auto worse = [](const Merge& a, const Merge& b) { return a.rank > b.rank || (a.rank == b.rank && a.left > b.left); };
  std::priority_queue<Merge, std::vector<Merge>, decltype(worse)> queue(worse);
  auto try_add = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = syms[left].next;
    if (right < 0 || syms[left].id < 0 || syms[right].id < 0) return;
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(syms[left].id)) << 32) |
                         static_cast<uint32_t>(syms[right].id);
    auto it = merges.find(key);
    if (it == merges.end()) return;
    queue.push({it->second.first, left, syms[left].id, syms[right].id, it->second.second});
  };
  for (size_t i = 0; i + 1 < syms.size(); ++i) try_add(static_cast<int32_t>(i));
  while (!queue.empty()) {
    const Merge m = queue.top();
    queue.pop();
    Symbol& l = syms[m.left];
    if (l.begin == l.end || l.id != m.left_id || l.next < 0) continue;
    Symbol& r = syms[l.next];
    if (r.id != m.right_id) continue;
    l.id = m.new_id;
    l.end = r.end;
    r.begin = r.end;
    const int32_t after = r.next;
    l.next = after;
    if (after >= 0) syms[after].prev = m.left;
    try_add(l.prev);
    try_add(m.left);
  }
  bool prev_unk = false;
  for (int32_t i = 0; i != -1; i = syms[i].next) {
    if (syms[i].id >= 0) {
      out.push_back(syms[i].id);
      prev_unk = false;
      continue;
    }
    if (unk_id >= 0) {
      if (!(fuse_unk && prev_unk)) out.push_back(unk_id);
      prev_unk = true;
    } else {
      push_unknown_bytes(word.substr(syms[i].begin, syms[i].end - syms[i].begin), out);
    }
  }
}

}  // namespace unicorn
