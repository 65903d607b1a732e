#pragma once
// The packed .ucn container: one mmap-able file of typed metadata + tensors, every byte before the tensor data
// covered by an xxHash3-64 checksum that is always verified, each tensor 4096-aligned with its own checksum and
// optional zstd compression. Byte layout: docs/FORMAT.md.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "formats/metadata.h"
#include "formats/model_source.h"
#include "formats/tensor.h"

namespace unicorn {

inline constexpr uint8_t kUcnMagic[8] = {'U', 'C', 'N', '1', 0x00, '\r', '\n', 0x1a};
inline constexpr uint32_t kUcnVersion = 1;
inline constexpr uint64_t kUcnAlignment = 4096;
inline constexpr uint64_t kUcnHeaderSize = 96;

enum class UcnCompression : uint32_t { None = 0, Zstd = 1 };

// What the directory says about one tensor (besides its name, type and shape).
struct UcnTensorInfo {
  uint64_t data_offset = 0;  // relative to the start of the data section
  uint64_t stored_size = 0;  // bytes in the file
  uint64_t raw_size = 0;     // bytes after decompression
  UcnCompression compression = UcnCompression::None;
  uint64_t checksum = 0;     // xxHash3-64 of the raw bytes
};

// One tensor whose checksum did not match (from UcnReader::verify_tensors).
struct UcnChecksumFailure {
  std::string tensor;
  uint64_t expected = 0;
  uint64_t actual = 0;
};

// True when the first bytes are the .ucn magic (for format sniffing).
bool is_ucn_magic(std::span<const uint8_t> first_bytes);

// UcnReader: owns the mapping (or borrows caller memory) plus decompressed copies of zstd tensors; immutable after
// construction and safe to read from any thread. Opening costs one pass over header+metadata+directory (checksum),
// a decompression of every zstd tensor, and, with verify_checksums, one xxHash3 pass over every tensor.
// Uncompressed tensors are zero-copy views into the mapping.
class UcnReader final : public ModelSource {
 public:
  // Throws Error naming the file and field for anything malformed, truncated or failing its checksum.
  static std::unique_ptr<UcnReader> open(const std::string& path, bool verify_checksums);
  // Parses caller-owned bytes that must outlive the reader (fuzzing, tests). `name` is used in errors.
  static std::unique_ptr<UcnReader> from_memory(std::span<const uint8_t> bytes, const std::string& name,
                                                bool verify_checksums);

  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorView>& tensors() const override { return tensors_; }
  const std::string& path() const override { return path_; }

  // Parallel to tensors().
  const std::vector<UcnTensorInfo>& tensor_infos() const { return infos_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return bytes_.size(); }
  uint64_t header_checksum() const { return header_checksum_; }
  // Hashes every tensor's raw bytes and returns the ones that differ from the directory (empty = all good).
  std::vector<UcnChecksumFailure> verify_tensors() const;

 private:
  UcnReader() = default;
  void parse(bool verify_checksums);

  std::string path_;
  std::unique_ptr<MappedFile> file_;  // null when reading caller memory
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t header_checksum_ = 0;
  Metadata metadata_;
  std::vector<TensorView> tensors_;
  std::vector<UcnTensorInfo> infos_;
  std::vector<std::unique_ptr<uint8_t[]>> owned_;  // decompressed zstd tensors
};

// Opens a .ucn file as a ModelSource (see UcnReader::open).
std::unique_ptr<ModelSource> open_ucn(const std::string& path, bool verify_checksums);

// UcnWriter: collects metadata and tensor producers, then finish() writes the whole file through an
// AtomicFileWriter (PATH appears complete or not at all). Single-threaded use; with zstd it compresses with
// `threads` zstd workers. Memory: one tensor's raw bytes (+ its compressed copy) at a time.
class UcnWriter {
 public:
  struct Options {
    bool zstd = false;
    int zstd_level = 3;
    int threads = 0;  // zstd workers; 0 = physical cores
    // Compressed data is kept only when it saves at least this fraction of the raw size.
    double min_saving = 0.02;
  };
  // Called once with a buffer of exactly raw_size bytes to fill with the tensor's raw bytes.
  using Producer = std::function<void(uint8_t* out, uint64_t raw_size)>;
  // Called after each tensor is written (index, count) for progress reporting.
  using Progress = std::function<void(size_t index, size_t count)>;

  UcnWriter(std::string path, Options options);
  UcnWriter(std::string path) : UcnWriter(std::move(path), Options{}) {}

  void set_metadata(Metadata metadata) { metadata_ = std::move(metadata); }
  // Bytes pointed to by view.data must stay valid until finish().
  void add_tensor(const TensorView& view);
  void add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, Producer producer);
  void set_progress(Progress progress) { progress_ = std::move(progress); }
  // Writes and commits; throws Error (and leaves no file at PATH) on any failure.
  void finish();

 private:
  struct Pending {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t raw_size;
    Producer producer;
  };
  std::string path_;
  Options options_;
  Metadata metadata_;
  std::vector<Pending> pending_;
  Progress progress_;
};

// Serializes metadata in the .ucn encoding (exposed for tests and the fuzzer's seed corpus).
std::vector<uint8_t> encode_ucn_metadata(const Metadata& metadata);

}  // namespace unicorn
