#include "runtime/pretokenize.h"

#include "base/error.h"

namespace unicorn {
namespace {

// The regexes are format facts: they must equal what the vocabulary was trained with (GPT-2, Llama 3, ...).
const char* const kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

}  // namespace

PreTokenizerPreset pre_tokenizer_preset(const std::string& pre) {
  PreTokenizerPreset p;
  if (pre.empty() || pre == "default") {
    p.regexes = {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
  } else if (one_of(pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                          "dbrx", "smaug-bpe", "chatglm-bpe"})) {
    p.regexes = {kLlama3};
    if (!one_of(pre, {"dbrx", "smaug-bpe", "chatglm-bpe"})) {
      p.ignore_merges = true;
      p.add_bos = true;
    }
  } else if (pre == "deepseek-coder") {
    p.regexes = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\xE4\xB8\x80-\xE9\xBE\xA5\xE0\xA0\x80-\xE4\xB8\x80\xEA\xB0\x80-\xED\x9F\xBF]+",
                 "\\p{N}"};
  } else if (pre == "falcon") {
    p.regexes = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"};
  } else if (one_of(pre, {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"})) {
    p.regexes = {"\\p{N}", kGpt2};
  } else if (one_of(pre, {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "mpt", "olmo",
                          "jais", "trillion", "roberta-bpe", "jina-v1-en", "jina-v2-code"})) {
    p.regexes = {kGpt2};
  } else if (one_of(pre, {"qwen2", "stablelm2", "hunyuan", "grok-2", "deepseek-r1-qwen", "megrez"})) {
    p.regexes = {kQwen2};
  } else {
    fail("tokenizer.ggml.pre: pre-tokenizer '", pre, "' is not supported");
  }
  return p;
}

}  // namespace unicorn
