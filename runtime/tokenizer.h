#pragma once
// Text <-> token ids for the models Unicorn runs: SentencePiece-style vocabularies (Llama 2, Phi-3, Gemma; GGUF
// "llama" model or HF BPE with byte fallback) and GPT-2-style byte-level BPE (GGUF "gpt2" model with llama.cpp's
// pre-tokenizer presets, or HF tokenizer.json with ByteLevel / Split pre-tokenizers).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/metadata.h"

namespace unicorn {

struct TokenizerImpl;

// Tokenizer: immutable after loading, safe to use from several threads at once. encode() costs about
// O(n log n) in the text length (plus regex splitting); loading a 262k-piece vocabulary takes about a second.
class Tokenizer {
 public:
  // GGUF tokenizer.ggml.* keys, or "hf.tokenizer_json" / "hf.tokenizer_model_path" (+ "hf.tokenizer_config_json")
  // as put there by open_model_source for HF checkpoints. Throws Error naming the key for anything missing or malformed.
  static std::unique_ptr<Tokenizer> from_metadata(const Metadata& md);
  // HF tokenizer.json text (+ optional tokenizer_config.json text for BOS/EOS, add_bos_token, chat template).
  static std::unique_ptr<Tokenizer> from_hf_json(const std::string& json_text,
                                                 const std::string& tokenizer_config_text = "");
  // SentencePiece tokenizer.model (protobuf) at PATH, as llama.cpp's SentencePiece tokenizer over its pieces
  // (+ optional tokenizer_config.json text). Truncated/corrupt files: Error naming the file and field.
  static std::unique_ptr<Tokenizer> from_sentencepiece_file(const std::string& path,
                                                            const std::string& tokenizer_config_text = "");
  // tokenizer.json, tokenizer.model, .gguf, .ucn, or a model directory (tokenizer.json, else tokenizer.model,
  // + tokenizer_config.json beside config.json).
  static std::unique_ptr<Tokenizer> load(const std::string& path);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text` (bytes; invalid UTF-8 is tokenized as U+FFFD). add_bos puts bos_id() first when the
  // vocabulary has one. parse_special: control/special tokens written in the text become their ids (user-defined
  // added tokens are always recognized, as in HF tokenizers and llama.cpp).
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = true) const;
  // The raw bytes a token stands for: byte-fallback <0xXX> -> that byte, "▁" -> space, GPT-2 byte map undone;
  // control tokens give their text (e.g. "<eos>"). Throws Error for an id out of range.
  std::string decode_token(int32_t id) const;
  // Concatenated decode_token bytes; when the vocabulary adds a dummy-prefix space, the first token's leading space
  // is dropped (only if it is the very first token, as llama.cpp and HF's Strip decoder do).
  std::string decode(std::span<const int32_t> ids) const;
  // The vocabulary piece as stored (no decoding); throws Error for an id out of range.
  const std::string& piece(int32_t id) const;

  int32_t bos_id() const;               // -1 when none
  int32_t eos_id() const;               // -1 when none
  std::vector<int32_t> eog_ids() const;  // eos plus end-of-turn tokens (<end_of_turn>, <|eot_id|>, <|im_end|> ...)
  bool is_eog(int32_t id) const;
  int vocab_size() const;
  std::optional<int32_t> token_id(std::string_view piece) const;
  bool add_bos_default() const;
  std::string chat_template() const;  // may be empty
  // What kind of tokenizer this is, for messages: e.g. "gguf llama (spm)", "gguf gpt2 (pre=llama-bpe)", "hf BPE".
  std::string description() const;

 private:
  explicit Tokenizer(std::unique_ptr<TokenizerImpl> impl);
  std::unique_ptr<TokenizerImpl> impl_;
};

}  // namespace unicorn
