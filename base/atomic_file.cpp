#include "base/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/error.h"

namespace unicorn {

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  tmp_path_ = str_cat(path_, ".tmp.", ::getpid());
  f_ = std::fopen(tmp_path_.c_str(), "wb");
  if (f_ == nullptr) throw Error(str_cat("cannot create: ", std::strerror(errno)), {path_, "", ""});
}

AtomicFileWriter::~AtomicFileWriter() {
  if (f_ != nullptr) std::fclose(f_);
  if (!committed_) std::remove(tmp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, uint64_t n) {
  if (n == 0) return;
  if (std::fwrite(data, 1, n, f_) != n) {
    throw Error(str_cat("write failed: ", std::strerror(errno)), {path_, "", ""});
  }
  pos_ += n;
  if (pos_ > size_) size_ = pos_;
}

void AtomicFileWriter::write_zeros(uint64_t n) {
  static const std::vector<uint8_t> zeros(1 << 16, 0);
  while (n > 0) {
    const uint64_t chunk = n < zeros.size() ? n : zeros.size();
    write(zeros.data(), chunk);
    n -= chunk;
  }
}

void AtomicFileWriter::pad_to(uint64_t alignment) {
  const uint64_t rem = pos_ % alignment;
  if (rem != 0) write_zeros(alignment - rem);
}

void AtomicFileWriter::seek(uint64_t offset) {
  if (std::fseek(f_, static_cast<long>(offset), SEEK_SET) != 0) {
    throw Error(str_cat("seek failed: ", std::strerror(errno)), {path_, "", ""});
  }
  pos_ = offset;
}

void AtomicFileWriter::commit() {
  if (std::fflush(f_) != 0 || ::fsync(fileno(f_)) != 0) {
    throw Error(str_cat("flush failed: ", std::strerror(errno)), {path_, "", ""});
  }
  std::fclose(f_);
  f_ = nullptr;
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    throw Error(str_cat("cannot rename temp file into place: ", std::strerror(errno)), {path_, "", ""});
  }
  committed_ = true;
}

}  // namespace unicorn
