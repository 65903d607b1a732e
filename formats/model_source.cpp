#include "formats/model_source.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>

#include "base/error.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "formats/ucn.h"

namespace unicorn {

const TensorView* ModelSource::find(const std::string& name) const {
  for (const TensorView& t : tensors()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const TensorView& ModelSource::require(const std::string& name) const {
  const TensorView* t = find(name);
  if (t == nullptr) throw Error("required tensor is missing", {path(), name, ""});
  return *t;
}

namespace {

namespace fs = std::filesystem;

// Adds the HF side files that sit beside the weights (text of the JSON files, path of a SentencePiece model).
void add_hf_side_files(Metadata& md, const fs::path& dir, bool config_required) {
  md.set("unicorn.source_format", MetaValue::str("hf"));
  const fs::path config = dir / "config.json";
  if (fs::exists(config)) {
    md.set("hf.config_json", MetaValue::str(read_text_file(config.string())));
  } else if (config_required) {
    fail_in({dir.string(), "", ""}, "missing config.json");
  }
  const std::pair<const char*, const char*> texts[] = {
      {"tokenizer.json", "hf.tokenizer_json"},
      {"tokenizer_config.json", "hf.tokenizer_config_json"},
      {"generation_config.json", "hf.generation_config_json"},
      {"special_tokens_map.json", "hf.special_tokens_map_json"},
  };
  for (const auto& [file, key] : texts) {
    const fs::path p = dir / file;
    if (fs::is_regular_file(p)) md.set(key, MetaValue::str(read_text_file(p.string())));
  }
  const fs::path spm = dir / "tokenizer.model";
  if (fs::is_regular_file(spm)) md.set("hf.tokenizer_model_path", MetaValue::str(spm.string()));
}

// A HF checkpoint directory, or one bare .safetensors file (config.json beside it is optional then).
class HfSource final : public ModelSource {
 public:
  explicit HfSource(const std::string& dir) : path_(dir), checkpoint_(std::make_unique<HfCheckpoint>(dir)) {
    tensors_ = checkpoint_->tensors();
    add_hf_side_files(metadata_, fs::path(dir), /*config_required=*/true);
    for (const SafetensorsReader& s : checkpoint_->shards()) add_st_metadata(s);
  }
  HfSource(const std::string& file, bool /*single_file*/)
      : path_(file), single_(std::make_unique<SafetensorsReader>(file)) {
    tensors_ = single_->tensors();
    add_hf_side_files(metadata_, fs::path(file).parent_path(), /*config_required=*/false);
    add_st_metadata(*single_);
  }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorView>& tensors() const override { return tensors_; }
  const std::string& path() const override { return path_; }

 private:
  void add_st_metadata(const SafetensorsReader& s) {
    for (const auto& [k, v] : s.metadata()) metadata_.set("safetensors." + k, MetaValue::str(v));
  }
  std::string path_;
  std::unique_ptr<HfCheckpoint> checkpoint_;
  std::unique_ptr<SafetensorsReader> single_;
  Metadata metadata_;
  std::vector<TensorView> tensors_;
};

class GgufSource final : public ModelSource {
 public:
  explicit GgufSource(const std::string& file) : path_(file), reader_(file), metadata_(reader_.metadata()) {
    metadata_.set("unicorn.source_format", MetaValue::str("gguf"));
  }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorView>& tensors() const override { return reader_.tensors(); }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  GgufReader reader_;
  Metadata metadata_;
};

// First bytes of a file (fewer when it is shorter).
std::string read_head(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat("cannot open: ", std::strerror(errno)), {path, "", ""});
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

bool looks_like_safetensors(const std::string& head) {
  // u64 LE header length followed by the JSON object's opening brace.
  return head.size() >= 9 && head[8] == '{';
}

}  // namespace

std::unique_ptr<ModelSource> open_model_source(const std::string& path, bool verify_checksums) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("no such file or directory", {path, "", ""});
  if (fs::is_directory(path, ec)) return std::make_unique<HfSource>(path);

  const std::string head = read_head(path, 16);
  if (head.size() >= 4 && head.compare(0, 4, "GGUF") == 0) return std::make_unique<GgufSource>(path);
  if (looks_like_safetensors(head)) return std::make_unique<HfSource>(path, true);
  const auto* h = reinterpret_cast<const uint8_t*>(head.data());
  if (is_ucn_magic(std::span<const uint8_t>(h, head.size()))) return open_ucn(path, verify_checksums);
  throw Error("unrecognized model format (expected a HF checkpoint directory, .safetensors, .gguf or .ucn)",
              {path, "", ""});
}

}  // namespace unicorn
