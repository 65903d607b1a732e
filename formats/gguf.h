#pragma once
// GGUF files (llama.cpp's container): reading v2/v3 and writing v3.
//
// Public interface:
//   GgufReader r(path);                          // mmap + validate; r.metadata(), r.tensors(), r.find(name)
//   GgufReader::parse(bytes, name)               // same over caller-owned bytes (fuzzing, tests)
//   GgufWriter w; w.set(key, MetaValue); w.add_tensor(name, dtype, shape, data, nbytes);
//   w.add_tensor(name, dtype, shape, nbytes, producer);   // streamed: producer(sink) calls sink(ptr, n) repeatedly
//   w.write(path);                               // v3, through AtomicFileWriter
//
// Layout facts (little-endian): "GGUF", u32 version, u64 tensor count, u64 kv count (v1 used u32 counts and is
// refused), kvs (string key, u32 type, value; arrays are u32 elem type + u64 count + items, and may nest), tensor
// infos (string name, u32 n_dims <= 4, u64 dims innermost-first, u32 ggml type, u64 offset), zero padding up to
// general.alignment (default 32, a power of two), then the data section; tensor offsets are relative to it and
// multiples of the alignment. Strings are u64 length + bytes, not NUL-terminated.
//
// TensorView.shape is outermost-first everywhere in Unicorn: the reader reverses GGUF's dims and the writer takes
// outermost-first shapes and reverses them on disk. Every count, length, offset and size is checked against the
// bytes actually present with overflow-safe arithmetic before anything is allocated; violations throw a one-line
// unicorn::Error naming the file and the key/tensor.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mapped_file.h"
#include "formats/metadata.h"
#include "formats/tensor.h"

namespace unicorn {

// GgufReader: owns the mapped file (or borrows caller bytes via parse()); immutable after construction, safe to
// read from any thread; move-only. Cost: one mmap and a pass over the header; tensor data is not touched.
class GgufReader {
 public:
  static constexpr uint32_t kDefaultAlignment = 32;
  static constexpr uint32_t kMaxDims = 4;
  static constexpr uint32_t kMaxArrayDepth = 8;  // nested arrays deeper than this are refused

  explicit GgufReader(const std::string& path);
  // BYTES must outlive the reader (TensorViews point into them); NAME is used in errors.
  static GgufReader parse(std::span<const uint8_t> bytes, const std::string& name);

  GgufReader(GgufReader&&) noexcept = default;
  GgufReader& operator=(GgufReader&&) noexcept = default;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const Metadata& metadata() const { return metadata_; }
  // Keys in file order (Metadata itself is sorted).
  const std::vector<std::string>& key_order() const { return key_order_; }
  // In file order; shape outermost-first.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;
  // Absolute file offset of the data section.
  uint64_t data_offset() const { return data_offset_; }

 private:
  GgufReader() = default;
  void parse_bytes(std::span<const uint8_t> bytes);

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  Metadata metadata_;
  std::vector<std::string> key_order_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, size_t> index_;
  uint64_t data_offset_ = 0;
};

// GgufWriter: collects metadata and tensors, then write() emits a GGUF v3 file atomically. Not thread-safe;
// borrowed tensor pointers must stay valid until write() returns. Keys keep insertion order; set() on an existing key
// replaces its value in place. Cost: write() streams each tensor once; nothing is copied in memory.
class GgufWriter {
 public:
  // Called once per tensor during write(); must call sink with exactly the declared number of bytes in total.
  using Sink = std::function<void(const void* data, uint64_t n)>;
  using Producer = std::function<void(const Sink& sink)>;

  // Power of two; when not 32 the file also gets a u32 "general.alignment" key.
  void set_alignment(uint32_t alignment);
  uint32_t alignment() const { return alignment_; }
  // Any MetaValue, arrays (also nested, also of strings) included; "general.alignment" must agree with the alignment.
  void set(const std::string& key, MetaValue value);
  // Shape outermost-first; nbytes must equal the size dtype and shape imply. Throws Error on duplicates/mismatch.
  void add_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data, uint64_t nbytes);
  void add_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape, uint64_t nbytes, Producer producer);
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t nbytes;
    Producer producer;
  };
  void check_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape, uint64_t nbytes) const;

  uint32_t alignment_ = GgufReader::kDefaultAlignment;
  std::vector<std::pair<std::string, MetaValue>> kv_;
  std::vector<Tensor> tensors_;
};

// Byte size of a tensor of DTYPE with outermost-first SHAPE (innermost dim must be a multiple of the block size);
// throws Error on negative dims, a bad block multiple or overflow.
uint64_t tensor_nbytes(DType dtype, const std::vector<int64_t>& shape);

}  // namespace unicorn
