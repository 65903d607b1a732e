#pragma once
// A small backtracking regex engine over Unicode code points, for tokenizer pre-tokenization patterns
// (GPT-2, Llama 3, Qwen 2, StarCoder, Falcon, DeepSeek ... and HF tokenizer.json "Split" regexes).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace unicorn {

// Regex: compiled once, immutable, safe to share between threads. Semantics are leftmost-first backtracking
// (like PCRE, Oniguruma and ECMAScript). Supported: literals, '.', classes [...] / [^...] with ranges,
// \p{L} \p{N} \p{P} \p{S} \p{M} \p{Z} \p{C} \p{Lu} \p{Ll} \p{Lt} \p{Lm} \p{Lo} \p{Nd} and \P{..},
// \s \S \d \D \w \W, \r \n \t \f \v \xHH \uHHHH escapes, groups (...) (?:...) (?i:...), lookahead (?=...) (?!...),
// quantifiers ? * + {n} {n,} {n,m} (lazy '?' and possessive '+' suffixes; possessive is treated as greedy),
// anchors ^ $. Matching costs O(length) for these patterns, worst case exponential as with any backtracker.
class Regex {
 public:
  // Throws Error naming the pattern for syntax this engine does not support.
  explicit Regex(std::string_view pattern);

  // Finds the leftmost match in text[from, end). Lookaheads see the whole span `text` (nothing beyond it).
  bool search(std::span<const uint32_t> text, size_t from, size_t& match_begin, size_t& match_end) const;
  // Match anchored at `pos`; returns the end or -1.
  long match_at(std::span<const uint32_t> text, size_t pos) const;

  const std::string& pattern() const { return pattern_; }

  struct CharClass {
    bool negate = false;
    bool icase = false;
    uint32_t flag_mask = 0;                  // matches when flags(cp) & flag_mask
    std::vector<uint32_t> neg_flag_masks;    // matches when !(flags(cp) & m) for some m (\S, \P{..} inside [...])
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive
    bool any = false;                        // '.' (everything but \n)
    bool matches(uint32_t cp) const;
    bool matches_raw(uint32_t cp) const;
  };
  enum class Op : uint8_t { Class, Split, Jmp, Match, Bol, Eol, Look };
  struct Inst {
    Op op;
    bool negate = false;  // Look: negative lookahead
    int32_t x = 0;        // Class: class index; Split/Jmp/Look: target
    int32_t y = 0;        // Split: second (lower priority) target
  };

 private:
  bool exec(int32_t pc, std::span<const uint32_t> text, size_t pos, size_t& end) const;

  std::string pattern_;
  std::vector<CharClass> classes_;
  std::vector<Inst> prog_;
  friend class RegexCompiler;
};

// How a split step treats the matches (HF tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

// Splits text[begin, end) by the regex into pieces [b, e) appended to `out`, like HF's Split pre-tokenizer
// (llama.cpp's regex splitting is Isolated: both the matches and the text between them become pieces).
// invert: the non-matching parts are treated as the delimiters.
void regex_split(const Regex& re, std::span<const uint32_t> text, size_t begin, size_t end, SplitBehavior behavior,
                 bool invert, std::vector<std::pair<size_t, size_t>>& out);

}  // namespace unicorn
