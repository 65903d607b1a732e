#include "formats/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace unicorn {
namespace {

using nlohmann::json;

std::optional<DType> safetensors_dtype(const std::string& s) {
  if (s == "F32") return DType::F32;
  if (s == "F16") return DType::F16;
  if (s == "BF16") return DType::BF16;
  if (s == "I8") return DType::I8;
  if (s == "U8") return DType::U8;
  return std::nullopt;
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Reads a non-negative JSON integer that fits in int64; throws with CTX otherwise.
uint64_t json_uint(const json& j, const Error::Context& ctx, const char* what) {
  if (j.is_number_unsigned()) {
    const uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail_in(ctx, what, " is too large");
    return v;
  }
  if (j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v < 0) fail_in(ctx, what, " is negative");
    return static_cast<uint64_t>(v);
  }
  fail_in(ctx, what, " must be a non-negative integer, found ", j.type_name());
}

}  // namespace

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
  file_ = std::make_unique<MappedFile>(path);
  parse_bytes(file_->bytes());
}

SafetensorsReader SafetensorsReader::parse(std::span<const uint8_t> bytes, const std::string& name) {
  SafetensorsReader r;
  r.path_ = name;
  r.parse_bytes(bytes);
  return r;
}

const TensorView* SafetensorsReader::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsReader::parse_bytes(std::span<const uint8_t> bytes) {
  const Error::Context file_ctx{path_, "", ""};
  const uint64_t file_size = bytes.size();
  if (file_size < 8) fail_in(file_ctx, "not a safetensors file: ", file_size, " bytes, too short for the header length");
  const uint64_t header_len = read_le64(bytes.data());
  if (header_len > kMaxHeaderBytes) {
    fail_in(file_ctx, "safetensors header length ", header_len, " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  }
  if (header_len > file_size - 8) {
    fail_in(file_ctx, "safetensors header length ", header_len, " runs past the end of the file (", file_size,
            " bytes): truncated or not a safetensors file");
  }
  if (header_len < 2) fail_in(file_ctx, "safetensors header length ", header_len, " is too small for a JSON object");
  data_offset_ = 8 + header_len;
  const uint64_t data_size = file_size - data_offset_;
  const uint8_t* data = bytes.data() + data_offset_;

  const char* hp = reinterpret_cast<const char*>(bytes.data() + 8);
  json header = json::parse(hp, hp + header_len, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) fail_in(file_ctx, "safetensors header is not valid JSON");
  if (!header.is_object()) fail_in(file_ctx, "safetensors header must be a JSON object, found ", header.type_name());

  struct Span {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Span> spans;
  tensors_.reserve(header.size());
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == "__metadata__") {
      const Error::Context ctx{path_, "", "__metadata__"};
      if (!entry.is_object()) fail_in(ctx, "must be an object of strings, found ", entry.type_name());
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string()) {
          fail_in(Error::Context{path_, "", "__metadata__." + m.key()}, "must be a string, found ",
                  m.value().type_name());
        }
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const Error::Context ctx{path_, name, ""};
    if (!entry.is_object()) fail_in(ctx, "tensor entry must be an object, found ", entry.type_name());
    for (auto f = entry.begin(); f != entry.end(); ++f) {
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets") {
        fail_in(Error::Context{path_, name, f.key()}, "unknown field in tensor entry");
      }
    }
    auto dt_it = entry.find("dtype");
    auto shape_it = entry.find("shape");
    auto off_it = entry.find("data_offsets");
    if (dt_it == entry.end()) fail_in(Error::Context{path_, name, "dtype"}, "missing");
    if (shape_it == entry.end()) fail_in(Error::Context{path_, name, "shape"}, "missing");
    if (off_it == entry.end()) fail_in(Error::Context{path_, name, "data_offsets"}, "missing");

    const Error::Context dt_ctx{path_, name, "dtype"};
    if (!dt_it->is_string()) fail_in(dt_ctx, "must be a string, found ", dt_it->type_name());
    const std::string dt_name = dt_it->get<std::string>();
    const std::optional<DType> dtype = safetensors_dtype(dt_name);
    if (!dtype) fail_in(dt_ctx, "unsupported safetensors dtype \"", dt_name, "\" (supported: F32, F16, BF16, I8, U8)");

    const Error::Context shape_ctx{path_, name, "shape"};
    if (!shape_it->is_array()) fail_in(shape_ctx, "must be an array, found ", shape_it->type_name());
    if (shape_it->size() > kMaxRank) fail_in(shape_ctx, "rank ", shape_it->size(), " exceeds the limit of ", kMaxRank);
    std::vector<int64_t> shape;
    uint64_t elements = 1;
    uint64_t nonzero_product = 1;  // bounds every partial product TensorView::elements() can form
    for (const json& d : *shape_it) {
      const uint64_t dim = json_uint(d, shape_ctx, "dimension");
      shape.push_back(static_cast<int64_t>(dim));
      if (dim != 0 && (__builtin_mul_overflow(nonzero_product, dim, &nonzero_product) ||
                       nonzero_product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
        fail_in(shape_ctx, "element count overflows");
      }
      elements *= dim;  // <= nonzero_product, so it cannot overflow
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(elements, uint64_t{dtype_traits(*dtype).block_bytes}, &nbytes) ||
        nbytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail_in(shape_ctx, "byte size overflows");
    }

    const Error::Context off_ctx{path_, name, "data_offsets"};
    if (!off_it->is_array() || off_it->size() != 2) fail_in(off_ctx, "must be an array [begin, end]");
    const uint64_t begin = json_uint((*off_it)[0], off_ctx, "begin");
    const uint64_t end = json_uint((*off_it)[1], off_ctx, "end");
    if (end < begin) fail_in(off_ctx, "end ", end, " is before begin ", begin);
    if (end > data_size) {
      fail_in(off_ctx, "[", begin, ", ", end, ") runs past the data area of ", data_size,
              " bytes: file truncated or offsets corrupt");
    }
    if (end - begin != nbytes) {
      fail_in(off_ctx, "holds ", end - begin, " bytes but ", dt_name, " with ", elements, " elements needs ", nbytes);
    }
    if (begin != end) spans.push_back({begin, end, tensors_.size()});
    index_.emplace(name, tensors_.size());
    tensors_.push_back(TensorView{name, *dtype, std::move(shape), data + begin, nbytes});
  }

  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end) {
      fail_in(Error::Context{path_, tensors_[spans[i].tensor].name, "data_offsets"}, "bytes overlap tensor ",
              tensors_[spans[i - 1].tensor].name);
    }
  }
}

HfCheckpoint::HfCheckpoint(const std::string& dir) : dir_(dir) {
  namespace fs = std::filesystem;
  const Error::Context dir_ctx{dir, "", ""};
  if (!fs::is_directory(dir)) fail_in(dir_ctx, "not a directory");
  const fs::path root(dir);
  const fs::path config = root / "config.json";
  if (!fs::exists(config)) fail_in(dir_ctx, "missing config.json: not a HuggingFace checkpoint directory");
  config_json_ = read_text_file(config.string());
  {
    json cfg = json::parse(config_json_, nullptr, false);
    if (cfg.is_discarded()) fail_in(Error::Context{config.string(), "", ""}, "not valid JSON");
    if (!cfg.is_object()) fail_in(Error::Context{config.string(), "", ""}, "must be a JSON object");
  }

  const fs::path index_path = root / "model.safetensors.index.json";
  const fs::path single = root / "model.safetensors";
  std::unordered_map<std::string, std::string> weight_map;  // tensor -> shard file name
  if (fs::exists(index_path)) {
    const std::string ip = index_path.string();
    json idx = json::parse(read_text_file(ip), nullptr, false);
    if (idx.is_discarded()) fail_in(Error::Context{ip, "", ""}, "not valid JSON");
    if (!idx.is_object()) fail_in(Error::Context{ip, "", ""}, "must be a JSON object");
    auto wm = idx.find("weight_map");
    if (wm == idx.end() || !wm->is_object() || wm->empty()) {
      fail_in(Error::Context{ip, "", "weight_map"}, "missing, empty or not an object");
    }
    std::vector<std::string> shard_names;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string()) fail_in(Error::Context{ip, it.key(), "weight_map"}, "shard must be a string");
      const std::string shard = it.value().get<std::string>();
      if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos ||
          shard.find('\\') != std::string::npos) {
        fail_in(Error::Context{ip, it.key(), "weight_map"}, "shard \"", shard,
                "\" must be a plain file name in the checkpoint directory");
      }
      weight_map[it.key()] = shard;
      if (std::find(shard_names.begin(), shard_names.end(), shard) == shard_names.end()) shard_names.push_back(shard);
    }
    std::sort(shard_names.begin(), shard_names.end());
    for (const std::string& s : shard_names) shards_.emplace_back((root / s).string());
  } else if (fs::exists(single)) {
    shards_.emplace_back(single.string());
  } else {
    fail_in(dir_ctx, "neither model.safetensors nor model.safetensors.index.json found");
  }

  for (const SafetensorsReader& shard : shards_) {
    for (const TensorView& t : shard.tensors()) {
      if (index_.count(t.name) != 0) {
        fail_in(Error::Context{shard.path(), t.name, ""}, "tensor appears in more than one shard");
      }
      index_.emplace(t.name, tensors_.size());
      tensors_.push_back(t);
    }
  }
  for (const auto& [name, shard] : weight_map) {
    const std::string shard_path = (root / shard).string();
    bool found = false;
    for (const SafetensorsReader& s : shards_) {
      if (s.path() == shard_path) found = s.find(name) != nullptr;
    }
    if (!found) {
      fail_in(Error::Context{(root / "model.safetensors.index.json").string(), name, "weight_map"},
              "tensor is not in its shard ", shard);
    }
  }
}

const TensorView* HfCheckpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace unicorn
