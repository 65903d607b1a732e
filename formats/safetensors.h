#pragma once
// Safetensors files and HuggingFace checkpoint directories.
//
// Public interface:
//   SafetensorsReader r(path);                       // mmap one .safetensors file, validate its header
//   SafetensorsReader::parse(bytes, name)            // same, over caller-owned bytes (fuzzing, tests)
//   r.tensors() / r.find(name) / r.metadata()        // TensorViews (shape outermost-first) and "__metadata__"
//   HfCheckpoint ck(dir);                            // config.json + model.safetensors or a sharded index
//   ck.config_json() / ck.tensors() / ck.find(name)
//
// Validation (every violation is a one-line unicorn::Error naming the file and tensor/field):
//   - 8-byte little-endian header length, at most kMaxHeaderBytes and inside the file;
//   - the header is a JSON object; each tensor has "dtype" (F32, F16, BF16, I8, U8; anything else is refused by
//     name), "shape" (non-negative integers, at most kMaxRank of them) and "data_offsets" [begin, end] relative to
//     the data area, with end - begin == elements * dtype size computed without overflow, inside the data area and
//     not overlapping another tensor's bytes. Gaps between tensors are tolerated.
//   - "__metadata__" must be an object of strings and is kept as-is.
// Tensor data pointers are not necessarily aligned to the element size (safetensors does not promise it).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/mapped_file.h"
#include "formats/tensor.h"

namespace unicorn {

// SafetensorsReader: owns the mapped file (or borrows caller bytes via parse()); immutable after construction,
// safe to read from any thread; move-only. Cost: one mmap plus a JSON parse of the header; data is not touched.
class SafetensorsReader {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's cap is 100 MB too
  static constexpr size_t kMaxRank = 16;

  // Maps and validates PATH; throws Error naming the path.
  explicit SafetensorsReader(const std::string& path);
  // Validates BYTES, which must outlive the reader (TensorViews point into them); NAME is used in errors.
  static SafetensorsReader parse(std::span<const uint8_t> bytes, const std::string& name);

  SafetensorsReader(SafetensorsReader&&) noexcept = default;
  SafetensorsReader& operator=(SafetensorsReader&&) noexcept = default;

  const std::string& path() const { return path_; }
  // In header order (the JSON object's key order, i.e. sorted by name).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorView* find(const std::string& name) const;
  // The "__metadata__" object (string -> string); empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Offset of the data area from the start of the file (8 + header length).
  uint64_t data_offset() const { return data_offset_; }

 private:
  SafetensorsReader() = default;
  void parse_bytes(std::span<const uint8_t> bytes);

  std::string path_;
  std::unique_ptr<MappedFile> file_;  // null when parsing borrowed bytes
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  uint64_t data_offset_ = 0;
};

// HfCheckpoint: a HuggingFace model directory. Owns one SafetensorsReader per shard (each shard mapped once);
// immutable after construction, safe to read from any thread; move-only.
// Requires config.json; reads model.safetensors.index.json ("weight_map": tensor -> shard file) when present,
// else model.safetensors. Shard names must be plain file names inside the directory.
class HfCheckpoint {
 public:
  explicit HfCheckpoint(const std::string& dir);
  HfCheckpoint(HfCheckpoint&&) noexcept = default;
  HfCheckpoint& operator=(HfCheckpoint&&) noexcept = default;

  const std::string& dir() const { return dir_; }
  // The text of config.json (validated to be a JSON object).
  const std::string& config_json() const { return config_json_; }
  // Tensors of all shards, in shard order then header order; names are unique across shards.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;
  const std::vector<SafetensorsReader>& shards() const { return shards_; }

 private:
  std::string dir_;
  std::string config_json_;
  std::vector<SafetensorsReader> shards_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace unicorn
