#pragma once
// llama.cpp's pre-tokenizer presets for byte-level BPE vocabularies, selected by GGUF tokenizer.ggml.pre.
#include <string>
#include <vector>

namespace unicorn {

struct PreTokenizerPreset {
  std::vector<std::string> regexes;  // applied one after another, each splitting the pieces of the previous
  bool ignore_merges = false;        // a pre-token that is a whole vocabulary piece is used as is
  bool add_bos = false;              // default for tokenizer.ggml.add_bos_token
};

// Throws Error naming the value for a preset this runtime does not know. An empty name gives llama.cpp's default.
PreTokenizerPreset pre_tokenizer_preset(const std::string& pre);

}  // namespace unicorn
