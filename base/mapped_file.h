#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace unicorn {

// MappedFile: owns a read-only mmap of a whole file; move-only; data() is valid for the object's life and
// safe to read from any thread. Opening costs one open+fstat+mmap; pages are faulted in on first touch.
class MappedFile {
 public:
  // Throws Error naming the path when the file cannot be opened or mapped. An empty file maps to size 0.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, static_cast<size_t>(size_)}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// Reads a whole small file (config.json, tokenizer.json) into a string; throws Error naming the path.
std::string read_text_file(const std::string& path);

}  // namespace unicorn
