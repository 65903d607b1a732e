#include "formats/ucn.h"

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/thread_pool.h"

namespace unicorn {
namespace {

constexpr uint64_t kChecksumFieldOffset = 88;
constexpr uint32_t kMaxDims = 8;
constexpr uint32_t kMaxNameBytes = 65536;
constexpr int kMaxArrayDepth = 8;
// A zstd block of at most 128 KiB takes at least 4 bytes (RLE), so no valid frame expands more than this.
constexpr uint64_t kZstdMaxRatio = 32768;

// Bounds-checked little-endian reader over a byte range; every failure names the field being read.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, uint64_t base, const std::string& file)
      : bytes_(bytes), base_(base), file_(file) {}

  uint64_t remaining() const { return bytes_.size() - pos_; }
  uint64_t pos() const { return pos_; }

  const uint8_t* take(uint64_t n, const char* field) {
    if (n > remaining()) {
      fail_at(field, str_cat("needs ", n, " bytes at offset ", base_ + pos_, " but only ", remaining(), " remain"));
    }
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <typename T>
  T get(const char* field) {
    T v;
    std::memcpy(&v, take(sizeof(T), field), sizeof(T));
    return v;
  }
  std::string string(uint64_t max_len, const char* field) {
    const uint32_t n = get<uint32_t>(field);
    if (n > max_len) fail_at(field, str_cat("length ", n, " exceeds the limit ", max_len));
    const uint8_t* p = take(n, field);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  [[noreturn]] void fail_at(const std::string& field, const std::string& msg) const {
    throw Error(msg, {file_, "", field});
  }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
  uint64_t base_;
  const std::string& file_;
};

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

std::optional<DType> dtype_from_id(uint32_t id) {
  if (id == static_cast<uint32_t>(DType::U8)) return DType::U8;
  return dtype_from_ggml(id);
}

bool valid_meta_type(uint32_t t) { return t <= static_cast<uint32_t>(MetaType::F64); }

// Smallest encoding of one value of type t (used to bound array counts before allocating).
uint64_t min_value_bytes(MetaType t) {
  switch (t) {
    case MetaType::U8: case MetaType::I8: case MetaType::BOOL: return 1;
    case MetaType::U16: case MetaType::I16: return 2;
    case MetaType::U32: case MetaType::I32: case MetaType::F32: case MetaType::STRING: return 4;
    case MetaType::ARRAY: return 12;
    case MetaType::U64: case MetaType::I64: case MetaType::F64: return 8;
  }
  return 1;
}

MetaValue read_value(Cursor& c, MetaType t, int depth, const std::string& key) {
  const char* f = key.c_str();
  switch (t) {
    case MetaType::U8: return {t, uint64_t{c.get<uint8_t>(f)}};
    case MetaType::I8: return {t, int64_t{c.get<int8_t>(f)}};
    case MetaType::U16: return {t, uint64_t{c.get<uint16_t>(f)}};
    case MetaType::I16: return {t, int64_t{c.get<int16_t>(f)}};
    case MetaType::U32: return {t, uint64_t{c.get<uint32_t>(f)}};
    case MetaType::I32: return {t, int64_t{c.get<int32_t>(f)}};
    case MetaType::U64: return {t, c.get<uint64_t>(f)};
    case MetaType::I64: return {t, c.get<int64_t>(f)};
    case MetaType::F32: return {t, double{c.get<float>(f)}};
    case MetaType::F64: return {t, c.get<double>(f)};
    case MetaType::BOOL: {
      const uint8_t b = c.get<uint8_t>(f);
      if (b > 1) c.fail_at(key, str_cat("bool value ", int(b), " is neither 0 nor 1"));
      return {t, b == 1};
    }
    case MetaType::STRING: return {t, c.string(std::numeric_limits<uint32_t>::max(), f)};
    case MetaType::ARRAY: {
      if (depth >= kMaxArrayDepth) c.fail_at(key, "arrays nested too deeply");
      const uint32_t et = c.get<uint32_t>(f);
      if (!valid_meta_type(et)) c.fail_at(key, str_cat("unknown array element type ", et));
      const uint64_t count = c.get<uint64_t>(f);
      const MetaType elem = static_cast<MetaType>(et);
      if (count > c.remaining() / min_value_bytes(elem)) {
        c.fail_at(key, str_cat("array of ", count, " elements does not fit in the remaining ", c.remaining(), " bytes"));
      }
      std::vector<MetaValue> items;
      items.reserve(count);
      for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(c, elem, depth + 1, key));
      return MetaValue::array(elem, std::move(items));
    }
  }
  c.fail_at(key, "unknown value type");
}

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  if (s.size() > std::numeric_limits<uint32_t>::max()) fail("string of ", s.size(), " bytes is too long for .ucn");
  put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

void write_value(std::vector<uint8_t>& out, const MetaValue& v, MetaType t, const std::string& key) {
  if (v.type != t) fail("array element of type ", meta_type_name(v.type), " in an array of ", meta_type_name(t));
  switch (t) {
    case MetaType::U8: put<uint8_t>(out, static_cast<uint8_t>(v.as_int())); break;
    case MetaType::I8: put<int8_t>(out, static_cast<int8_t>(v.as_int())); break;
    case MetaType::U16: put<uint16_t>(out, static_cast<uint16_t>(v.as_int())); break;
    case MetaType::I16: put<int16_t>(out, static_cast<int16_t>(v.as_int())); break;
    case MetaType::U32: put<uint32_t>(out, static_cast<uint32_t>(v.as_int())); break;
    case MetaType::I32: put<int32_t>(out, static_cast<int32_t>(v.as_int())); break;
    case MetaType::U64: put<uint64_t>(out, static_cast<uint64_t>(v.as_int())); break;
    case MetaType::I64: put<int64_t>(out, v.as_int()); break;
    case MetaType::F32: put<float>(out, static_cast<float>(v.as_double())); break;
    case MetaType::F64: put<double>(out, v.as_double()); break;
    case MetaType::BOOL: put<uint8_t>(out, v.as_bool() ? 1 : 0); break;
    case MetaType::STRING: put_string(out, v.as_string()); break;
    case MetaType::ARRAY: {
      const MetaArray& a = v.as_array();
      put<uint32_t>(out, static_cast<uint32_t>(a.elem_type));
      put<uint64_t>(out, a.items.size());
      for (const MetaValue& item : a.items) write_value(out, item, a.elem_type, key);
      break;
    }
  }
}

uint64_t tensor_raw_size(DType dtype, const std::vector<int64_t>& shape) {
  uint64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= static_cast<uint64_t>(shape[i]);
  const uint64_t cols = shape.empty() ? 1 : static_cast<uint64_t>(shape.back());
  return rows * dtype_row_bytes(dtype, cols);
}

uint64_t xxh3(const uint8_t* p, uint64_t n) { return XXH3_64bits(p, n); }

uint64_t header_hash(std::span<const uint8_t> file_prefix, uint64_t directory_end) {
  XXH3_state_t* st = XXH3_createState();
  if (st == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, file_prefix.data(), kChecksumFieldOffset);
  XXH3_64bits_update(st, file_prefix.data() + kUcnHeaderSize, directory_end - kUcnHeaderSize);
  const uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

}  // namespace

bool is_ucn_magic(std::span<const uint8_t> first_bytes) {
  return first_bytes.size() >= sizeof(kUcnMagic) && std::memcmp(first_bytes.data(), kUcnMagic, sizeof(kUcnMagic)) == 0;
}

std::vector<uint8_t> encode_ucn_metadata(const Metadata& metadata) {
  std::vector<uint8_t> out;
  for (const auto& [key, value] : metadata.entries()) {
    if (key == "unicorn.source_format") continue;  // describes the opened container, set by readers
    try {
      if (key.empty() || key.size() > kMaxNameBytes) fail("metadata key length must be 1..", kMaxNameBytes);
      put_string(out, key);
      put<uint32_t>(out, static_cast<uint32_t>(value.type));
      write_value(out, value, value.type, key);
    } catch (const Error& e) {
      throw Error(e.message(), {"", "", key});
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

std::unique_ptr<UcnReader> UcnReader::open(const std::string& path, bool verify_checksums) {
  std::unique_ptr<UcnReader> r(new UcnReader());
  r->path_ = path;
  r->file_ = std::make_unique<MappedFile>(path);
  r->bytes_ = r->file_->bytes();
  r->parse(verify_checksums);
  return r;
}

std::unique_ptr<UcnReader> UcnReader::from_memory(std::span<const uint8_t> bytes, const std::string& name,
                                                  bool verify_checksums) {
  std::unique_ptr<UcnReader> r(new UcnReader());
  r->path_ = name;
  r->bytes_ = bytes;
  r->parse(verify_checksums);
  return r;
}

void UcnReader::parse(bool verify_checksums) {
  const std::string& file = path_;
  auto bad = [&](const std::string& field, const std::string& msg) -> void { throw Error(msg, {file, "", field}); };
  if (bytes_.size() < kUcnHeaderSize) {
    bad("header", str_cat("file is ", bytes_.size(), " bytes, shorter than the ", kUcnHeaderSize, "-byte .ucn header"));
  }
  if (!is_ucn_magic(bytes_)) bad("magic", "not a .ucn file (bad magic bytes)");

  Cursor h(bytes_.subspan(0, kUcnHeaderSize), 0, file);
  h.take(sizeof(kUcnMagic), "magic");
  version_ = h.get<uint32_t>("version");
  if (version_ != kUcnVersion) bad("version", str_cat("unsupported .ucn version ", version_, " (this build reads ", kUcnVersion, ")"));
  const uint32_t flags = h.get<uint32_t>("flags");
  const uint64_t n_meta = h.get<uint64_t>("metadata_count");
  const uint64_t n_tensors = h.get<uint64_t>("tensor_count");
  const uint64_t meta_off = h.get<uint64_t>("metadata_offset");
  const uint64_t meta_size = h.get<uint64_t>("metadata_size");
  const uint64_t dir_off = h.get<uint64_t>("directory_offset");
  const uint64_t dir_size = h.get<uint64_t>("directory_size");
  const uint64_t data_off = h.get<uint64_t>("data_offset");
  const uint64_t data_size = h.get<uint64_t>("data_size");
  const uint32_t alignment = h.get<uint32_t>("alignment");
  const uint32_t reserved = h.get<uint32_t>("reserved");
  header_checksum_ = h.get<uint64_t>("header_checksum");

  if (flags != 0) bad("flags", str_cat("unknown flags 0x", std::hex, flags));
  if (reserved != 0) bad("reserved", "reserved header field is not zero");
  if (alignment != kUcnAlignment) bad("alignment", str_cat("alignment ", alignment, " is not ", kUcnAlignment));
  if (meta_off != kUcnHeaderSize) bad("metadata_offset", str_cat("metadata_offset ", meta_off, " is not ", kUcnHeaderSize));
  const uint64_t size = bytes_.size();
  if (meta_size > size - meta_off) bad("metadata_size", str_cat("metadata section of ", meta_size, " bytes runs past the end of the file (", size, " bytes)"));
  if (dir_off != meta_off + meta_size) bad("directory_offset", "directory does not follow the metadata section");
  if (dir_size > size - dir_off) bad("directory_size", str_cat("directory of ", dir_size, " bytes runs past the end of the file (", size, " bytes)"));
  const uint64_t dir_end = dir_off + dir_size;
  if (data_off != align_up(dir_end, kUcnAlignment)) bad("data_offset", str_cat("data_offset ", data_off, " is not the first 4096-aligned offset after the directory"));
  if (data_off > size) bad("data_offset", str_cat("file is truncated: data section starts at ", data_off, " but the file has ", size, " bytes"));
  if (data_size != size - data_off) {
    bad("data_size", str_cat("file is ", size, " bytes but the header says ", data_off + data_size, " (truncated or trailing bytes)"));
  }
  const uint64_t actual = header_hash(bytes_, dir_end);
  if (actual != header_checksum_) {
    bad("header_checksum", str_cat("header checksum mismatch (stored 0x", std::hex, header_checksum_, ", computed 0x", actual,
                                   "): the header, metadata or directory is corrupt"));
  }
  for (uint64_t i = dir_end; i < data_off; ++i) {
    if (bytes_[i] != 0) bad("padding", str_cat("non-zero padding byte at offset ", i));
  }

  // Metadata.
  Cursor m(bytes_.subspan(meta_off, meta_size), meta_off, file);
  if (n_meta > meta_size / 9) bad("metadata_count", str_cat(n_meta, " metadata entries cannot fit in ", meta_size, " bytes"));
  for (uint64_t i = 0; i < n_meta; ++i) {
    std::string key = m.string(kMaxNameBytes, "metadata key");
    if (key.empty()) bad("metadata key", str_cat("empty key in metadata entry ", i));
    const uint32_t t = m.get<uint32_t>(key.c_str());
    if (!valid_meta_type(t)) bad(key, str_cat("unknown metadata value type ", t));
    MetaValue v = read_value(m, static_cast<MetaType>(t), 0, key);
    if (metadata_.has(key)) bad(key, "duplicate metadata key");
    metadata_.set(key, std::move(v));
  }
  if (m.remaining() != 0) bad("metadata_size", str_cat(m.remaining(), " unused bytes after the last metadata entry"));
  // model_source.h convention: the container actually opened (the flavour shows in the other keys).
  metadata_.set("unicorn.source_format", MetaValue::str("ucn"));

  // Directory.
  Cursor d(bytes_.subspan(dir_off, dir_size), dir_off, file);
  if (n_tensors > dir_size / 53) bad("tensor_count", str_cat(n_tensors, " tensors cannot fit in a directory of ", dir_size, " bytes"));
  std::set<std::string> names;
  tensors_.reserve(n_tensors);
  infos_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorView t;
    t.name = d.string(kMaxNameBytes, "tensor name");
    if (t.name.empty()) bad("tensor name", str_cat("tensor ", i, " has an empty name"));
    auto tbad = [&](const std::string& field, const std::string& msg) -> void { throw Error(msg, {file, t.name, field}); };
    if (!names.insert(t.name).second) tbad("name", "duplicate tensor name");
    const uint32_t type_id = d.get<uint32_t>("dtype");
    const auto dtype = dtype_from_id(type_id);
    if (!dtype) tbad("dtype", str_cat("unknown dtype id ", type_id));
    t.dtype = *dtype;
    const uint32_t n_dims = d.get<uint32_t>("n_dims");
    if (n_dims > kMaxDims) tbad("n_dims", str_cat(n_dims, " dimensions (at most ", kMaxDims, ")"));
    uint64_t elems = 1;
    for (uint32_t k = 0; k < n_dims; ++k) {
      const uint64_t dim = d.get<uint64_t>("dims");
      if (dim > (uint64_t{1} << 48)) tbad("dims", str_cat("dimension ", dim, " is absurd"));
      if (dim != 0 && elems > (uint64_t{1} << 56) / dim) tbad("dims", "element count overflows");
      elems *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    UcnTensorInfo info;
    info.data_offset = d.get<uint64_t>("data_offset");
    info.stored_size = d.get<uint64_t>("stored_size");
    info.raw_size = d.get<uint64_t>("raw_size");
    const uint32_t comp = d.get<uint32_t>("compression");
    const uint32_t treserved = d.get<uint32_t>("reserved");
    info.checksum = d.get<uint64_t>("checksum");
    if (treserved != 0) tbad("reserved", "reserved directory field is not zero");
    if (comp > 1) tbad("compression", str_cat("unknown compression id ", comp));
    info.compression = static_cast<UcnCompression>(comp);
    uint64_t expect_raw = 0;
    try {
      expect_raw = tensor_raw_size(t.dtype, t.shape);
    } catch (const Error& e) {
      tbad("dims", e.message());
    }
    if (info.raw_size != expect_raw) tbad("raw_size", str_cat("raw_size ", info.raw_size, " does not match the shape and type (", expect_raw, " bytes)"));
    if (info.data_offset % kUcnAlignment != 0) tbad("data_offset", str_cat("data_offset ", info.data_offset, " is not 4096-aligned"));
    if (info.stored_size > data_size || info.data_offset > data_size - info.stored_size) {
      tbad("data_offset", str_cat("tensor bytes [", info.data_offset, ", +", info.stored_size, ") run past the data section (", data_size, " bytes)"));
    }
    if (info.compression == UcnCompression::None && info.stored_size != info.raw_size) {
      tbad("stored_size", "uncompressed tensor with stored_size != raw_size");
    }
    if (info.compression == UcnCompression::Zstd &&
        (info.stored_size == 0 || info.raw_size / kZstdMaxRatio > info.stored_size)) {
      tbad("stored_size", str_cat("zstd data of ", info.stored_size, " bytes cannot hold ", info.raw_size, " raw bytes"));
    }
    t.nbytes = info.raw_size;
    t.data = bytes_.data() + data_off + info.data_offset;
    tensors_.push_back(std::move(t));
    infos_.push_back(info);
  }
  if (d.remaining() != 0) bad("directory_size", str_cat(d.remaining(), " unused bytes after the last directory entry"));

  // Tensor byte ranges must not overlap.
  std::vector<size_t> order(tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return infos_[a].data_offset < infos_[b].data_offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const UcnTensorInfo& prev = infos_[order[k - 1]];
    if (prev.stored_size > 0 && prev.data_offset + prev.stored_size > infos_[order[k]].data_offset) {
      throw Error("tensor data overlaps the previous tensor", {file, tensors_[order[k]].name, "data_offset"});
    }
  }

  // Decompress zstd tensors (in parallel) into owned memory; optionally hash every tensor.
  owned_.resize(tensors_.size());
  uint64_t work_bytes = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (verify_checksums || infos_[i].compression == UcnCompression::Zstd) work_bytes += infos_[i].raw_size;
  }
  if (work_bytes == 0) return;
  // Threads only pay off for real models; small inputs (tests, fuzzing) stay on this thread.
  const int n_threads = work_bytes < (uint64_t{64} << 20) ? 1 : std::min<int>(physical_core_count(), static_cast<int>(tensors_.size()));
  ThreadPool pool(n_threads);
  pool.parallel_for(tensors_.size(), [&](int, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      TensorView& t = tensors_[i];
      const UcnTensorInfo& info = infos_[i];
      if (info.compression == UcnCompression::Zstd) {
        const uint8_t* src = t.data;
        const unsigned long long frame = ZSTD_getFrameContentSize(src, info.stored_size);
        if (frame != info.raw_size) {
          throw Error(str_cat("zstd frame content size ", frame == ZSTD_CONTENTSIZE_ERROR ? std::string("unreadable") : std::to_string(frame),
                              " does not match raw_size ", info.raw_size),
                      {file, t.name, "compression"});
        }
        std::unique_ptr<uint8_t[]> buf(new uint8_t[info.raw_size > 0 ? info.raw_size : 1]);
        const size_t got = ZSTD_decompress(buf.get(), info.raw_size, src, info.stored_size);
        if (ZSTD_isError(got)) {
          throw Error(str_cat("zstd decompression failed: ", ZSTD_getErrorName(got)), {file, t.name, "data"});
        }
        if (got != info.raw_size) throw Error(str_cat("zstd data decompressed to ", got, " bytes, expected ", info.raw_size), {file, t.name, "data"});
        t.data = buf.get();
        owned_[i] = std::move(buf);
      }
      if (verify_checksums) {
        const uint64_t h = xxh3(t.data, t.nbytes);
        if (h != info.checksum) {
          throw Error(str_cat("tensor checksum mismatch (stored 0x", std::hex, info.checksum, ", computed 0x", h, ")"),
                      {file, t.name, "checksum"});
        }
      }
    }
  });
}

std::vector<UcnChecksumFailure> UcnReader::verify_tensors() const {
  std::vector<UcnChecksumFailure> out;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const uint64_t h = xxh3(tensors_[i].data, tensors_[i].nbytes);
    if (h != infos_[i].checksum) out.push_back({tensors_[i].name, infos_[i].checksum, h});
  }
  return out;
}

std::unique_ptr<ModelSource> open_ucn(const std::string& path, bool verify_checksums) {
  return UcnReader::open(path, verify_checksums);
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

UcnWriter::UcnWriter(std::string path, Options options) : path_(std::move(path)), options_(options) {}

void UcnWriter::add_tensor(const TensorView& view) {
  const uint8_t* data = view.data;
  const uint64_t nbytes = view.nbytes;
  const std::string name = view.name;
  add_tensor(view.name, view.dtype, view.shape, [data, nbytes, name](uint8_t* out, uint64_t raw) {
    if (raw != nbytes) throw Error(str_cat("tensor has ", nbytes, " bytes but its shape and type need ", raw), {"", name, ""});
    std::memcpy(out, data, raw);
  });
}

void UcnWriter::add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, Producer producer) {
  const Error::Context ctx{path_, name, ""};
  if (name.empty() || name.size() > kMaxNameBytes) fail_in(ctx, "tensor name length must be 1..", kMaxNameBytes);
  if (shape.size() > kMaxDims) fail_in(ctx, "more than ", kMaxDims, " dimensions");
  for (int64_t d : shape) {
    if (d < 0) fail_in(ctx, "negative dimension ", d);
  }
  for (const Pending& p : pending_) {
    if (p.name == name) fail_in(ctx, "duplicate tensor name");
  }
  uint64_t raw = 0;
  try {
    raw = tensor_raw_size(dtype, shape);
  } catch (const Error& e) {
    fail_in(ctx, e.message());
  }
  pending_.push_back({std::move(name), dtype, std::move(shape), raw, std::move(producer)});
}

void UcnWriter::finish() {
  const std::vector<uint8_t> meta = encode_ucn_metadata(metadata_);
  uint64_t dir_size = 0;
  for (const Pending& p : pending_) dir_size += 4 + p.name.size() + 4 + 4 + 8 * p.shape.size() + 8 + 8 + 8 + 4 + 4 + 8;
  const uint64_t dir_off = kUcnHeaderSize + meta.size();
  const uint64_t data_off = align_up(dir_off + dir_size, kUcnAlignment);

  AtomicFileWriter out(path_);
  out.write_zeros(data_off);

  std::vector<UcnTensorInfo> infos(pending_.size());
  ZSTD_CCtx* cctx = nullptr;
  if (options_.zstd) {
    cctx = ZSTD_createCCtx();
    if (cctx == nullptr) throw std::bad_alloc();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, options_.zstd_level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    const int workers = options_.threads > 0 ? options_.threads : physical_core_count();
    if (workers > 1) ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers);  // ignored without MT support
  }
  struct CctxFree {
    ZSTD_CCtx* c;
    ~CctxFree() { ZSTD_freeCCtx(c); }
  } cctx_guard{cctx};

  std::vector<uint8_t> raw, packed;
  for (size_t i = 0; i < pending_.size(); ++i) {
    Pending& p = pending_[i];
    UcnTensorInfo& info = infos[i];
    raw.resize(p.raw_size);
    try {
      p.producer(raw.data(), p.raw_size);
    } catch (const Error& e) {
      throw Error(e.message(), {path_, e.context().tensor.empty() ? p.name : e.context().tensor, e.context().field});
    }
    p.producer = nullptr;  // release whatever the producer captured
    info.raw_size = p.raw_size;
    info.checksum = xxh3(raw.data(), raw.size());
    const uint8_t* bytes = raw.data();
    uint64_t n = raw.size();
    info.compression = UcnCompression::None;
    if (cctx != nullptr && n > 0) {
      packed.resize(ZSTD_compressBound(n));
      const size_t c = ZSTD_compress2(cctx, packed.data(), packed.size(), raw.data(), n);
      if (ZSTD_isError(c)) throw Error(str_cat("zstd compression failed: ", ZSTD_getErrorName(c)), {path_, p.name, ""});
      if (static_cast<double>(c) <= static_cast<double>(n) * (1.0 - options_.min_saving)) {
        bytes = packed.data();
        n = c;
        info.compression = UcnCompression::Zstd;
      }
    }
    out.pad_to(kUcnAlignment);
    info.data_offset = out.tell() - data_off;
    info.stored_size = n;
    out.write(bytes, n);
    if (progress_) progress_(i, pending_.size());
  }
  const uint64_t data_size = out.tell() - data_off;

  std::vector<uint8_t> dir;
  dir.reserve(dir_size);
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Pending& p = pending_[i];
    const UcnTensorInfo& info = infos[i];
    put_string(dir, p.name);
    put<uint32_t>(dir, static_cast<uint32_t>(p.dtype));
    put<uint32_t>(dir, static_cast<uint32_t>(p.shape.size()));
    for (int64_t d : p.shape) put<uint64_t>(dir, static_cast<uint64_t>(d));
    put<uint64_t>(dir, info.data_offset);
    put<uint64_t>(dir, info.stored_size);
    put<uint64_t>(dir, info.raw_size);
    put<uint32_t>(dir, static_cast<uint32_t>(info.compression));
    put<uint32_t>(dir, 0);
    put<uint64_t>(dir, info.checksum);
  }
  if (dir.size() != dir_size) fail("internal error: directory size changed while writing");

  std::vector<uint8_t> head;
  head.insert(head.end(), kUcnMagic, kUcnMagic + sizeof(kUcnMagic));
  put<uint32_t>(head, kUcnVersion);
  put<uint32_t>(head, 0);
  put<uint64_t>(head, metadata_.size() - (metadata_.has("unicorn.source_format") ? 1 : 0));
  put<uint64_t>(head, pending_.size());
  put<uint64_t>(head, kUcnHeaderSize);
  put<uint64_t>(head, meta.size());
  put<uint64_t>(head, dir_off);
  put<uint64_t>(head, dir_size);
  put<uint64_t>(head, data_off);
  put<uint64_t>(head, data_size);
  put<uint32_t>(head, static_cast<uint32_t>(kUcnAlignment));
  put<uint32_t>(head, 0);
  head.insert(head.end(), meta.begin(), meta.end());
  head.insert(head.end(), dir.begin(), dir.end());
  // head is now [fixed header without checksum (88 bytes)] + metadata + directory; hash it in the file's order.
  XXH3_state_t* st = XXH3_createState();
  if (st == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, head.data(), head.size());
  const uint64_t checksum = XXH3_64bits_digest(st);
  XXH3_freeState(st);

  out.seek(0);
  out.write(head.data(), kChecksumFieldOffset);
  out.write(&checksum, 8);
  out.write(head.data() + kChecksumFieldOffset, head.size() - kChecksumFieldOffset);
  out.seek(data_off + data_size);
  out.commit();
}

}  // namespace unicorn
