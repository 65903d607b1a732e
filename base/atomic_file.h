#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace unicorn {

// AtomicFileWriter: owns a temp file "PATH.tmp.<pid>" beside PATH; single-threaded; commit() fsyncs and renames
// it onto PATH, and a writer destroyed without commit() deletes the temp file, so PATH is never half-written.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);  // throws Error naming the path
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, uint64_t n);  // throws Error on short writes (disk full)
  void write_zeros(uint64_t n);
  void pad_to(uint64_t alignment);  // zero bytes up to the next multiple of alignment
  void seek(uint64_t offset);       // absolute, for patching headers written before their contents
  uint64_t tell() const { return pos_; }
  uint64_t size() const { return size_; }
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string tmp_path_;
  std::FILE* f_ = nullptr;
  uint64_t pos_ = 0;
  uint64_t size_ = 0;
  bool committed_ = false;
};

}  // namespace unicorn
