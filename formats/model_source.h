#pragma once
// Opens any model container (HF directory, .safetensors, .gguf, .ucn) as metadata + tensors.
#include <memory>
#include <string>
#include <vector>

#include "formats/metadata.h"
#include "formats/tensor.h"

namespace unicorn {

// ModelSource: owns the mapped files behind its TensorViews; immutable after open, safe to read from any thread.
// Conventions for metadata() so the runtime can tell flavours apart:
//  - "unicorn.source_format": "hf" | "gguf" | "ucn" (the container actually opened)
//  - HF checkpoints (and .ucn files made from them): "hf.config_json" holds config.json's text,
//    "hf.tokenizer_json" / "hf.tokenizer_config_json" the text of those files when present; tensor names are HF's.
//  - GGUF files (and .ucn files made from them): GGUF's own keys ("general.architecture", "tokenizer.ggml.*", ...)
//    and GGUF tensor names.
class ModelSource {
 public:
  virtual ~ModelSource() = default;
  virtual const Metadata& metadata() const = 0;
  virtual const std::vector<TensorView>& tensors() const = 0;
  virtual const std::string& path() const = 0;
  // nullptr when absent.
  const TensorView* find(const std::string& name) const;
  // Throws Error naming the tensor and the file when absent.
  const TensorView& require(const std::string& name) const;
};

// Picks the container by what PATH is (directory => HF checkpoint) and by magic bytes; verify_checksums applies
// to .ucn. Throws Error naming the file and field for anything malformed.
std::unique_ptr<ModelSource> open_model_source(const std::string& path, bool verify_checksums = false);

}  // namespace unicorn
