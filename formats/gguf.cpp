#include "formats/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "base/atomic_file.h"
#include "base/error.h"

namespace unicorn {

static_assert(std::endian::native == std::endian::little, "GGUF I/O assumes a little-endian host");

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kMaxMetaType = static_cast<uint32_t>(MetaType::F64);
constexpr size_t kMaxTensorNameWrite = 63;  // llama.cpp refuses names of GGML_MAX_NAME (64) bytes or more

// Bytes a scalar of type T occupies; 0 for STRING and ARRAY.
uint64_t scalar_size(MetaType t) {
  switch (t) {
    case MetaType::U8: case MetaType::I8: case MetaType::BOOL: return 1;
    case MetaType::U16: case MetaType::I16: return 2;
    case MetaType::U32: case MetaType::I32: case MetaType::F32: return 4;
    case MetaType::U64: case MetaType::I64: case MetaType::F64: return 8;
    case MetaType::STRING: case MetaType::ARRAY: return 0;
  }
  return 0;
}

// The fewest bytes one value of type T can take, used to bound counts before allocating.
uint64_t min_value_size(MetaType t) {
  if (t == MetaType::STRING) return 8;
  if (t == MetaType::ARRAY) return 12;
  return scalar_size(t);
}

// Bounds-checked little-endian reader over the file bytes.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  void need(uint64_t n, const Error::Context& ctx, const char* what) const {
    if (n > remaining()) {
      fail_in(ctx, "truncated: ", what, " needs ", n, " bytes at offset ", pos_, " but the file has ", bytes_.size());
    }
  }
  template <typename T>
  T read(const Error::Context& ctx, const char* what) {
    need(sizeof(T), ctx, what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const Error::Context& ctx, const char* what) {
    const uint64_t len = read<uint64_t>(ctx, what);
    need(len, ctx, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
};

MetaType read_meta_type(Cursor& c, const Error::Context& ctx, const char* what) {
  const uint32_t id = c.read<uint32_t>(ctx, what);
  if (id > kMaxMetaType) fail_in(ctx, "unknown metadata value type ", id);
  return static_cast<MetaType>(id);
}

MetaValue read_value(Cursor& c, MetaType type, uint32_t depth, const Error::Context& ctx);

MetaValue read_array_body(Cursor& c, uint32_t depth, const Error::Context& ctx) {
  if (depth >= GgufReader::kMaxArrayDepth) {
    fail_in(ctx, "arrays nested deeper than ", GgufReader::kMaxArrayDepth, " levels");
  }
  const MetaType elem = read_meta_type(c, ctx, "array element type");
  const uint64_t count = c.read<uint64_t>(ctx, "array length");
  if (count > c.remaining() / min_value_size(elem)) {
    fail_in(ctx, "truncated or corrupt: array of ", count, " ", meta_type_name(elem), " values cannot fit in the ",
            c.remaining(), " bytes left");
  }
  std::vector<MetaValue> items;
  items.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(c, elem, depth + 1, ctx));
  return MetaValue::array(elem, std::move(items));
}

MetaValue read_value(Cursor& c, MetaType type, uint32_t depth, const Error::Context& ctx) {
  switch (type) {
    case MetaType::U8: return {type, uint64_t{c.read<uint8_t>(ctx, "u8 value")}};
    case MetaType::I8: return {type, int64_t{c.read<int8_t>(ctx, "i8 value")}};
    case MetaType::U16: return {type, uint64_t{c.read<uint16_t>(ctx, "u16 value")}};
    case MetaType::I16: return {type, int64_t{c.read<int16_t>(ctx, "i16 value")}};
    case MetaType::U32: return {type, uint64_t{c.read<uint32_t>(ctx, "u32 value")}};
    case MetaType::I32: return {type, int64_t{c.read<int32_t>(ctx, "i32 value")}};
    case MetaType::U64: return {type, c.read<uint64_t>(ctx, "u64 value")};
    case MetaType::I64: return {type, c.read<int64_t>(ctx, "i64 value")};
    case MetaType::F32: return {type, double{c.read<float>(ctx, "f32 value")}};
    case MetaType::F64: return {type, c.read<double>(ctx, "f64 value")};
    case MetaType::BOOL: {
      const uint8_t b = c.read<uint8_t>(ctx, "bool value");
      if (b > 1) fail_in(ctx, "bool value must be 0 or 1, found ", unsigned{b});
      return MetaValue::boolean(b == 1);
    }
    case MetaType::STRING: return MetaValue::str(c.read_string(ctx, "string value"));
    case MetaType::ARRAY: return read_array_body(c, depth, ctx);
  }
  fail_in(ctx, "unknown metadata value type ", static_cast<uint32_t>(type));
}

bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

uint64_t align_up_checked(uint64_t x, uint64_t alignment, const Error::Context& ctx) {
  const uint64_t rem = x % alignment;
  if (rem == 0) return x;
  uint64_t out = 0;
  if (__builtin_add_overflow(x, alignment - rem, &out)) fail_in(ctx, "offset overflows");
  return out;
}

// Size of a tensor given GGUF-order dims (innermost first).
uint64_t nbytes_innermost_first(DType dtype, const std::vector<uint64_t>& dims, const Error::Context& ctx) {
  const DTypeTraits& tr = dtype_traits(dtype);
  const uint64_t ne0 = dims.empty() ? 1 : dims[0];
  if (ne0 % tr.block_elems != 0) {
    fail_in(ctx, "innermost dimension ", ne0, " is not a multiple of the ", tr.name, " block size ", tr.block_elems);
  }
  uint64_t n = ne0 / tr.block_elems * tr.block_bytes;  // cannot overflow: block_bytes <= 2 * block_elems * 8
  if (ne0 != 0 && n / tr.block_bytes != ne0 / tr.block_elems) fail_in(ctx, "tensor byte size overflows");
  for (size_t i = 1; i < dims.size(); ++i) {
    if (__builtin_mul_overflow(n, dims[i], &n)) fail_in(ctx, "tensor byte size overflows");
  }
  // With a zero dim the byte size is 0 whatever the others are; bound them anyway so that every partial product
  // TensorView::elements() forms fits in int64.
  uint64_t nonzero_product = 1;
  for (uint64_t d : dims) {
    if (d != 0 && (__builtin_mul_overflow(nonzero_product, d, &nonzero_product) ||
                   nonzero_product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
      fail_in(ctx, "element count overflows");
    }
  }
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail_in(ctx, "tensor byte size overflows");
  return n;
}

}  // namespace

uint64_t tensor_nbytes(DType dtype, const std::vector<int64_t>& shape) {
  std::vector<uint64_t> dims;
  for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
    if (*it < 0) fail("negative dimension ", *it);
    dims.push_back(static_cast<uint64_t>(*it));
  }
  return nbytes_innermost_first(dtype, dims, {});
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

GgufReader::GgufReader(const std::string& path) : path_(path) {
  file_ = std::make_unique<MappedFile>(path);
  parse_bytes(file_->bytes());
}

GgufReader GgufReader::parse(std::span<const uint8_t> bytes, const std::string& name) {
  GgufReader r;
  r.path_ = name;
  r.parse_bytes(bytes);
  return r;
}

const TensorView* GgufReader::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void GgufReader::parse_bytes(std::span<const uint8_t> bytes) {
  const Error::Context file_ctx{path_, "", ""};
  Cursor c(bytes);
  if (bytes.size() < 4) fail_in(file_ctx, "not a GGUF file: only ", bytes.size(), " bytes");
  const uint32_t magic = c.read<uint32_t>(file_ctx, "magic");
  if (magic != kGgufMagic) fail_in(file_ctx, "not a GGUF file (bad magic)");
  version_ = c.read<uint32_t>({path_, "", "version"}, "version");
  if (version_ == 1) fail_in({path_, "", "version"}, "GGUF v1 is obsolete and not supported; re-convert the model");
  if (version_ != 2 && version_ != 3) {
    if ((version_ & 0xFFFF) == 0 && version_ != 0) {
      fail_in({path_, "", "version"}, "unsupported GGUF version ", version_, " (a big-endian GGUF file?)");
    }
    fail_in({path_, "", "version"}, "unsupported GGUF version ", version_, " (supported: 2, 3)");
  }
  const uint64_t n_tensors = c.read<uint64_t>({path_, "", "tensor_count"}, "tensor count");
  const uint64_t n_kv = c.read<uint64_t>({path_, "", "kv_count"}, "metadata count");
  // Each kv takes at least a key length, a type and one value byte; each tensor info at least 24 bytes.
  if (n_kv > c.remaining() / 13) {
    fail_in({path_, "", "kv_count"}, "metadata count ", n_kv, " cannot fit in the file: corrupt or truncated");
  }
  if (n_tensors > c.remaining() / 24) {
    fail_in({path_, "", "tensor_count"}, "tensor count ", n_tensors, " cannot fit in the file: corrupt or truncated");
  }

  key_order_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = c.read_string({path_, "", str_cat("metadata key #", i)}, "key");
    const Error::Context ctx{path_, "", key};
    if (metadata_.has(key)) fail_in(ctx, "duplicate metadata key");
    const MetaType type = read_meta_type(c, ctx, "value type");
    metadata_.set(key, read_value(c, type, 0, ctx));
    key_order_.push_back(key);
  }

  if (const MetaValue* a = metadata_.find("general.alignment")) {
    const Error::Context ctx{path_, "", "general.alignment"};
    if (!a->is_int()) fail_in(ctx, "must be an integer, found ", meta_type_name(a->type));
    const int64_t v = a->as_int();
    if (v <= 0 || v > (int64_t{1} << 30) || !is_power_of_two(static_cast<uint64_t>(v))) {
      fail_in(ctx, "alignment ", v, " must be a power of two no larger than 2^30");
    }
    alignment_ = static_cast<uint32_t>(v);
  }

  struct Info {
    std::vector<uint64_t> dims;
    uint64_t offset;
  };
  std::vector<Info> infos;
  infos.reserve(static_cast<size_t>(n_tensors));
  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorView t;
    t.name = c.read_string({path_, str_cat("tensor #", i), "name"}, "tensor name");
    const Error::Context ctx{path_, t.name, ""};
    if (index_.count(t.name) != 0) fail_in(ctx, "duplicate tensor name");
    const uint32_t n_dims = c.read<uint32_t>(ctx, "n_dims");
    if (n_dims > kMaxDims) fail_in(ctx, "n_dims ", n_dims, " exceeds the GGUF limit of ", kMaxDims);
    std::vector<uint64_t> dims(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      dims[d] = c.read<uint64_t>(ctx, "dimension");
      if (dims[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail_in(ctx, "dimension ", d, " = ", dims[d], " is too large");
      }
    }
    const uint32_t type_id = c.read<uint32_t>(ctx, "type");
    const std::optional<DType> dtype = dtype_from_ggml(type_id);
    if (!dtype) fail_in(ctx, "unsupported ggml tensor type id ", type_id);
    t.dtype = *dtype;
    const uint64_t offset = c.read<uint64_t>(ctx, "offset");
    if (offset % alignment_ != 0) fail_in(ctx, "data offset ", offset, " is not a multiple of the alignment ", alignment_);
    t.nbytes = nbytes_innermost_first(t.dtype, dims, ctx);
    t.shape.assign(dims.rbegin(), dims.rend());
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
    infos.push_back({std::move(dims), offset});
  }

  data_offset_ = align_up_checked(c.pos(), alignment_, file_ctx);
  if (n_tensors == 0) return;
  if (data_offset_ > bytes.size()) {
    fail_in(file_ctx, "truncated: the data section would start at ", data_offset_, " but the file has ", bytes.size(),
            " bytes");
  }
  const uint64_t data_size = bytes.size() - data_offset_;
  std::vector<size_t> order;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    TensorView& t = tensors_[i];
    const uint64_t off = infos[i].offset;
    if (off > data_size || t.nbytes > data_size - off) {
      fail_in({path_, t.name, ""}, "data [", off, ", +", t.nbytes, ") runs past the data section of ", data_size,
              " bytes: file truncated or corrupt");
    }
    t.data = bytes.data() + data_offset_ + off;
    if (t.nbytes != 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return infos[a].offset < infos[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const size_t prev = order[k - 1], cur = order[k];
    if (infos[cur].offset < infos[prev].offset + tensors_[prev].nbytes) {
      fail_in({path_, tensors_[cur].name, ""}, "data overlaps tensor ", tensors_[prev].name);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

namespace {

class Out {
 public:
  explicit Out(AtomicFileWriter& w) : w_(w) {}
  template <typename T>
  void put(T v) {
    w_.write(&v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    w_.write(s.data(), s.size());
  }

 private:
  AtomicFileWriter& w_;
};

// Checks that V (of declared type T) is representable, so write_value cannot silently truncate.
void check_value(const MetaValue& v, MetaType t, uint32_t depth, const std::string& key) {
  const Error::Context ctx{"", "", key};
  if (v.type != t) fail_in(ctx, "array item of type ", meta_type_name(v.type), " in an array of ", meta_type_name(t));
  auto need_uint = [&](uint64_t max) {
    const uint64_t* p = std::get_if<uint64_t>(&v.v);
    const int64_t* q = std::get_if<int64_t>(&v.v);
    if (p == nullptr && (q == nullptr || *q < 0)) fail_in(ctx, meta_type_name(t), " value must be a non-negative integer");
    const uint64_t x = p ? *p : static_cast<uint64_t>(*q);
    if (x > max) fail_in(ctx, "value ", x, " does not fit in ", meta_type_name(t));
  };
  auto need_int = [&](int64_t lo, int64_t hi) {
    const uint64_t* p = std::get_if<uint64_t>(&v.v);
    const int64_t* q = std::get_if<int64_t>(&v.v);
    if (p == nullptr && q == nullptr) fail_in(ctx, meta_type_name(t), " value must be an integer");
    if (p != nullptr && *p > static_cast<uint64_t>(hi)) fail_in(ctx, "value ", *p, " does not fit in ", meta_type_name(t));
    if (q != nullptr && (*q < lo || *q > hi)) fail_in(ctx, "value ", *q, " does not fit in ", meta_type_name(t));
  };
  switch (t) {
    case MetaType::U8: return need_uint(UINT8_MAX);
    case MetaType::U16: return need_uint(UINT16_MAX);
    case MetaType::U32: return need_uint(UINT32_MAX);
    case MetaType::U64: return need_uint(UINT64_MAX);
    case MetaType::I8: return need_int(INT8_MIN, INT8_MAX);
    case MetaType::I16: return need_int(INT16_MIN, INT16_MAX);
    case MetaType::I32: return need_int(INT32_MIN, INT32_MAX);
    case MetaType::I64: return need_int(INT64_MIN, INT64_MAX);
    case MetaType::F32:
    case MetaType::F64:
      if (!v.is_number()) fail_in(ctx, meta_type_name(t), " value must be a number");
      return;
    case MetaType::BOOL:
      if (!std::holds_alternative<bool>(v.v)) fail_in(ctx, "bool value must hold a bool");
      return;
    case MetaType::STRING:
      if (!std::holds_alternative<std::string>(v.v)) fail_in(ctx, "string value must hold a string");
      return;
    case MetaType::ARRAY: {
      if (depth >= GgufReader::kMaxArrayDepth) fail_in(ctx, "arrays nested deeper than ", GgufReader::kMaxArrayDepth);
      const auto* p = std::get_if<std::shared_ptr<MetaArray>>(&v.v);
      if (p == nullptr || *p == nullptr) fail_in(ctx, "array value must hold an array");
      if (static_cast<uint32_t>((*p)->elem_type) > kMaxMetaType) fail_in(ctx, "unknown array element type");
      for (const MetaValue& item : (*p)->items) check_value(item, (*p)->elem_type, depth + 1, key);
      return;
    }
  }
  fail_in(ctx, "unknown metadata value type ", static_cast<uint32_t>(t));
}

void write_value(Out& o, const MetaValue& v) {
  switch (v.type) {
    case MetaType::U8: return o.put<uint8_t>(static_cast<uint8_t>(v.as_int()));
    case MetaType::I8: return o.put<int8_t>(static_cast<int8_t>(v.as_int()));
    case MetaType::U16: return o.put<uint16_t>(static_cast<uint16_t>(v.as_int()));
    case MetaType::I16: return o.put<int16_t>(static_cast<int16_t>(v.as_int()));
    case MetaType::U32: return o.put<uint32_t>(static_cast<uint32_t>(v.as_int()));
    case MetaType::I32: return o.put<int32_t>(static_cast<int32_t>(v.as_int()));
    case MetaType::U64: return o.put<uint64_t>(static_cast<uint64_t>(v.as_int()));
    case MetaType::I64: return o.put<int64_t>(v.as_int());
    case MetaType::F32: return o.put<float>(static_cast<float>(v.as_double()));
    case MetaType::F64: return o.put<double>(v.as_double());
    case MetaType::BOOL: return o.put<uint8_t>(v.as_bool() ? 1 : 0);
    case MetaType::STRING: return o.put_string(v.as_string());
    case MetaType::ARRAY: {
      const MetaArray& a = v.as_array();
      o.put<uint32_t>(static_cast<uint32_t>(a.elem_type));
      o.put<uint64_t>(a.items.size());
      for (const MetaValue& item : a.items) write_value(o, item);
      return;
    }
  }
}

}  // namespace

void GgufWriter::set_alignment(uint32_t alignment) {
  if (!is_power_of_two(alignment) || alignment > (1u << 30)) {
    fail("GGUF alignment ", alignment, " must be a power of two no larger than 2^30");
  }
  alignment_ = alignment;
}

void GgufWriter::set(const std::string& key, MetaValue value) {
  check_value(value, value.type, 0, key);
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::check_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                              uint64_t nbytes) const {
  const Error::Context ctx{"", name, ""};
  if (name.empty()) fail_in(ctx, "tensor name must not be empty");
  if (name.size() > kMaxTensorNameWrite) {
    fail_in(ctx, "tensor name is ", name.size(), " bytes; GGUF readers accept at most ", kMaxTensorNameWrite);
  }
  for (const Tensor& t : tensors_) {
    if (t.name == name) fail_in(ctx, "duplicate tensor name");
  }
  if (dtype == DType::U8) fail_in(ctx, "u8 tensors have no GGML type and cannot be stored in GGUF");
  if (!dtype_from_ggml(static_cast<uint32_t>(dtype))) fail_in(ctx, "unknown dtype id ", static_cast<uint32_t>(dtype));
  if (shape.empty() || shape.size() > GgufReader::kMaxDims) {
    fail_in(ctx, "GGUF tensors need 1 to ", GgufReader::kMaxDims, " dimensions, got ", shape.size());
  }
  uint64_t expect = 0;
  try {
    expect = tensor_nbytes(dtype, shape);
  } catch (const Error& e) {
    fail_in(ctx, e.message());
  }
  if (expect != nbytes) fail_in(ctx, "declared ", nbytes, " bytes but ", dtype_name(dtype), " with this shape needs ", expect);
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
                            uint64_t nbytes) {
  check_tensor(name, dtype, shape, nbytes);
  if (data == nullptr && nbytes != 0) fail_in({"", name, ""}, "null data");
  tensors_.push_back(
      {name, dtype, std::move(shape), nbytes, [data, nbytes](const Sink& sink) { sink(data, nbytes); }});
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape, uint64_t nbytes,
                            Producer producer) {
  check_tensor(name, dtype, shape, nbytes);
  if (!producer) fail_in({"", name, ""}, "null producer");
  tensors_.push_back({name, dtype, std::move(shape), nbytes, std::move(producer)});
}

void GgufWriter::write(const std::string& path) const {
  std::vector<std::pair<std::string, MetaValue>> kv = kv_;
  auto has_alignment = std::find_if(kv.begin(), kv.end(), [](const auto& p) { return p.first == "general.alignment"; });
  if (has_alignment != kv.end()) {
    if (!has_alignment->second.is_int() || has_alignment->second.as_int() != int64_t{alignment_}) {
      fail_in({path, "", "general.alignment"}, "disagrees with the writer's alignment ", alignment_,
              " (use set_alignment)");
    }
  } else if (alignment_ != GgufReader::kDefaultAlignment) {
    kv.emplace_back("general.alignment", MetaValue::u32(alignment_));
  }

  AtomicFileWriter f(path);
  Out o(f);
  o.put<uint32_t>(kGgufMagic);
  o.put<uint32_t>(3);
  o.put<uint64_t>(tensors_.size());
  o.put<uint64_t>(kv.size());
  for (const auto& [key, value] : kv) {
    o.put_string(key);
    o.put<uint32_t>(static_cast<uint32_t>(value.type));
    write_value(o, value);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    o.put_string(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) o.put<uint64_t>(static_cast<uint64_t>(*it));
    o.put<uint32_t>(static_cast<uint32_t>(t.dtype));
    o.put<uint64_t>(offset);
    offset = align_up_checked(offset + t.nbytes, alignment_, {path, t.name, ""});
  }
  f.pad_to(alignment_);
  for (const Tensor& t : tensors_) {
    uint64_t written = 0;
    const Error::Context ctx{path, t.name, ""};
    t.producer([&](const void* data, uint64_t n) {
      if (n > t.nbytes - written) fail_in(ctx, "producer wrote more than the declared ", t.nbytes, " bytes");
      f.write(data, n);
      written += n;
    });
    if (written != t.nbytes) fail_in(ctx, "producer wrote ", written, " bytes, declared ", t.nbytes);
    f.pad_to(alignment_);
  }
  f.commit();
}

}  // namespace unicorn
