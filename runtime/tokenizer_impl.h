#pragma once
// Internal state of a Tokenizer, shared by the loaders (GGUF, HF tokenizer.json) and the encoders.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/regex.h"

namespace unicorn {

// Token types as GGUF numbers them (tokenizer.ggml.token_type).
enum class TokenKind : uint8_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PieceMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// A token recognized in raw text before the model runs (HF added tokens, GGUF control/user-defined tokens).
struct SpecialToken {
  std::string text;
  int32_t id = -1;
  bool needs_parse_special = true;  // control-like: only matched when parse_special
  bool lstrip = false, rstrip = false;
};

struct NormalizerStep {
  enum class Kind { Replace, Prepend, Lowercase } kind;
  std::string from, to;  // Replace: from -> to; Prepend: to
};

struct PreTokenizerStep {
  enum class Kind { Split, ByteLevel, Metaspace, Digits } kind;
  std::shared_ptr<Regex> regex;  // Split
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  bool add_prefix_space = false;  // ByteLevel
  bool use_regex = true;          // ByteLevel
  std::string replacement;        // Metaspace
  std::string prepend_scheme;     // Metaspace: "always" | "first" | "never"
  bool split = true;              // Metaspace
  bool individual_digits = false; // Digits
};

enum class ModelKind { Spm, Bpe };

struct TokenizerImpl {
  std::string description;
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenKind> kinds;
  PieceMap piece_to_id;

  ModelKind model = ModelKind::Bpe;
  // GGUF SentencePiece: " " before text at the start / after a special token, then spaces -> U+2581.
  bool add_space_prefix = false;
  bool escape_spaces = false;
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_steps;
  bool byte_fallback = false;   // characters missing from the vocabulary become <0xXX> tokens
  bool ignore_merges = false;   // a pre-token found whole in the vocabulary is used as it is
  int32_t unk_id = -1;
  bool fuse_unk = false;
  // (left id << 32 | right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;
  std::array<int32_t, 256> byte_tokens{};  // <0xXX> ids, -1 when absent

  std::vector<SpecialToken> specials;

  // Decoding
  bool decode_byte_level = false;                                   // undo GPT-2's byte map
  std::vector<std::pair<std::string, std::string>> decode_replace;  // e.g. U+2581 -> " "
  bool strip_leading_space = false;                                 // decode() drops one leading space
  bool decode_specials_too = false;  // HF: decoders also apply to added tokens (llama.cpp: those stay raw)

  int32_t bos = -1, eos = -1;
  std::vector<int32_t> eog;
  bool add_bos = false;
  std::string chat_template;

  int32_t find(std::string_view piece) const {
    auto it = piece_to_id.find(piece);
    return it == piece_to_id.end() ? -1 : it->second;
  }
  // Called by the loaders once pieces/kinds/specials are set: byte tokens, special-token index, EOG list.
  void finish();

  void encode(std::string_view text, bool parse_special, std::vector<int32_t>& out) const;
  std::string decode_token(int32_t id) const;

 private:
  void encode_fragment(std::string_view text, bool after_special, bool at_text_start,
                       std::vector<int32_t>& out) const;
  void pre_tokenize(std::string text, bool at_text_start, std::vector<std::string>& words) const;
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
  void encode_bpe(std::string_view word, std::vector<int32_t>& out) const;
  void push_unknown_bytes(std::string_view bytes, std::vector<int32_t>& out) const;

  // Byte trie over special token texts for leftmost-longest matching.
  struct TrieNode {
    std::unordered_map<uint8_t, int32_t> next;
    int32_t special = -1;  // index into specials
  };
  std::vector<TrieNode> trie_;
};

// Token texts that end a turn or a generation (llama.cpp's list), used by both loaders.
bool is_end_of_generation_text(std::string_view piece);

}  // namespace unicorn
