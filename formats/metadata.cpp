#include "formats/metadata.h"

#include "base/error.h"

namespace unicorn {

const char* meta_type_name(MetaType t) {
  switch (t) {
    case MetaType::U8: return "u8";
    case MetaType::I8: return "i8";
    case MetaType::U16: return "u16";
    case MetaType::I16: return "i16";
    case MetaType::U32: return "u32";
    case MetaType::I32: return "i32";
    case MetaType::F32: return "f32";
    case MetaType::BOOL: return "bool";
    case MetaType::STRING: return "string";
    case MetaType::ARRAY: return "array";
    case MetaType::U64: return "u64";
    case MetaType::I64: return "i64";
    case MetaType::F64: return "f64";
  }
  return "unknown";
}

int64_t MetaValue::as_int() const {
  if (auto p = std::get_if<uint64_t>(&v)) return static_cast<int64_t>(*p);
  if (auto p = std::get_if<int64_t>(&v)) return *p;
  if (auto p = std::get_if<bool>(&v)) return *p ? 1 : 0;
  fail("expected an integer, found ", meta_type_name(type));
}

double MetaValue::as_double() const {
  if (auto p = std::get_if<double>(&v)) return *p;
  if (is_int()) return static_cast<double>(as_int());
  fail("expected a number, found ", meta_type_name(type));
}

bool MetaValue::as_bool() const {
  if (auto p = std::get_if<bool>(&v)) return *p;
  if (is_int()) return as_int() != 0;
  fail("expected a bool, found ", meta_type_name(type));
}

const std::string& MetaValue::as_string() const {
  if (auto p = std::get_if<std::string>(&v)) return *p;
  fail("expected a string, found ", meta_type_name(type));
}

const MetaArray& MetaValue::as_array() const {
  if (auto p = std::get_if<std::shared_ptr<MetaArray>>(&v)) return **p;
  fail("expected an array, found ", meta_type_name(type));
}

const MetaValue* Metadata::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const MetaValue& Metadata::get(const std::string& key) const {
  const MetaValue* v = find(key);
  if (v == nullptr) throw Error("missing metadata key", {"", "", key});
  return *v;
}

template <typename F>
static auto with_key(const std::string& key, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(e.message(), {"", "", key});
  }
}

int64_t Metadata::get_int(const std::string& key) const { return with_key(key, [&] { return get(key).as_int(); }); }
double Metadata::get_double(const std::string& key) const { return with_key(key, [&] { return get(key).as_double(); }); }
std::string Metadata::get_string(const std::string& key) const {
  return with_key(key, [&] { return get(key).as_string(); });
}
std::optional<int64_t> Metadata::opt_int(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key);
}
std::optional<double> Metadata::opt_double(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_double(key);
}
std::optional<std::string> Metadata::opt_string(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}

}  // namespace unicorn
