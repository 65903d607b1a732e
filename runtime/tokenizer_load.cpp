// Tokenizer::load: picks tokenizer.json or the model container's metadata by what the path is.
#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "formats/model_source.h"
#include "runtime/tokenizer.h"

namespace unicorn {

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    if (fs::exists(dir / "tokenizer.json")) {
      const std::string cfg = fs::exists(dir / "tokenizer_config.json") ? read_text_file((dir / "tokenizer_config.json").string()) : "";
      try {
        return from_hf_json(read_text_file((dir / "tokenizer.json").string()), cfg);
      } catch (const Error& e) {
        throw e.with_file((dir / "tokenizer.json").string());
      }
    }
    if (fs::exists(dir / "tokenizer.model")) {
      const std::string cfg = fs::exists(dir / "tokenizer_config.json") ? read_text_file((dir / "tokenizer_config.json").string()) : "";
      return from_sentencepiece_file((dir / "tokenizer.model").string(), cfg);
    }
    fail_in({path, "", ""}, "no tokenizer.json or tokenizer.model in this directory");
  }
  if (!fs::exists(path, ec)) fail_in({path, "", ""}, "no such file or directory");
  const fs::path p(path);
  if (p.extension() == ".model") {
    const fs::path cfg_path = p.parent_path() / "tokenizer_config.json";
    return from_sentencepiece_file(path, fs::exists(cfg_path) ? read_text_file(cfg_path.string()) : "");
  }
  if (p.extension() == ".json") {
    const fs::path cfg_path = p.parent_path() / "tokenizer_config.json";
    const std::string cfg = (p.filename() == "tokenizer.json" && fs::exists(cfg_path)) ? read_text_file(cfg_path.string()) : "";
    try {
      return from_hf_json(read_text_file(path), cfg);
    } catch (const Error& e) {
      throw e.with_file(path);
    }
  }
  auto source = open_model_source(path);
  try {
    return from_metadata(source->metadata());
  } catch (const Error& e) {
    throw e.with_file(path);
  }
}

}  // namespace unicorn
