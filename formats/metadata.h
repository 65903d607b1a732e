#pragma once
// Typed key/value metadata shared by GGUF and .ucn: every GGUF value type, including nested arrays.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace unicorn {

// GGUF value type ids (gguf_type); .ucn uses the same ids.
enum class MetaType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  U64 = 10, I64 = 11, F64 = 12,
};

struct MetaValue;
// Arrays keep their element type so they round-trip exactly (an empty array still has one).
struct MetaArray {
  MetaType elem_type = MetaType::U8;
  std::vector<MetaValue> items;
};

// MetaValue: a value type; `type` says which variant member is meaningful for integer widths.
struct MetaValue {
  MetaType type = MetaType::U8;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<MetaArray>> v;

  static MetaValue u32(uint32_t x) { return {MetaType::U32, uint64_t{x}}; }
  static MetaValue u64(uint64_t x) { return {MetaType::U64, x}; }
  static MetaValue i32(int32_t x) { return {MetaType::I32, int64_t{x}}; }
  static MetaValue f32(float x) { return {MetaType::F32, double{x}}; }
  static MetaValue boolean(bool x) { return {MetaType::BOOL, x}; }
  static MetaValue str(std::string s) { return {MetaType::STRING, std::move(s)}; }
  static MetaValue array(MetaType elem, std::vector<MetaValue> items) {
    return {MetaType::ARRAY, std::make_shared<MetaArray>(MetaArray{elem, std::move(items)})};
  }

  bool is_int() const { return std::holds_alternative<uint64_t>(v) || std::holds_alternative<int64_t>(v); }
  bool is_number() const { return is_int() || std::holds_alternative<double>(v); }
  // Accessors throw Error when the value has another type (callers add the key to the context).
  int64_t as_int() const;
  double as_double() const;  // any number
  bool as_bool() const;
  const std::string& as_string() const;
  const MetaArray& as_array() const;
};

// Metadata: ordered key -> value map (order of insertion is not kept; GGUF writers sort keys).
// Typed getters throw Error naming the key when it is missing or of the wrong type.
class Metadata {
 public:
  void set(const std::string& key, MetaValue value) { kv_[key] = std::move(value); }
  void erase(const std::string& key) { kv_.erase(key); }
  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const MetaValue* find(const std::string& key) const;
  const MetaValue& get(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  std::optional<int64_t> opt_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  std::optional<double> opt_double(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::optional<std::string> opt_string(const std::string& key) const;
  const std::map<std::string, MetaValue>& entries() const { return kv_; }
  size_t size() const { return kv_.size(); }

 private:
  std::map<std::string, MetaValue> kv_;
};

const char* meta_type_name(MetaType t);

}  // namespace unicorn
