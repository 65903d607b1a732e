#include "base/dtype.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/error.h"

namespace unicorn {
namespace {

constexpr std::array<DTypeTraits, 13> kTraits = {{
    {DType::F32, "f32", 1, 4, false},
    {DType::F16, "f16", 1, 2, false},
    {DType::Q4_0, "q4_0", 32, 18, true},
    {DType::Q8_0, "q8_0", 32, 34, true},
    {DType::Q4_K, "q4_k", 256, 144, true},
    {DType::Q5_K, "q5_k", 256, 176, true},
    {DType::Q6_K, "q6_k", 256, 210, true},
    {DType::Q8_K, "q8_k", 256, 292, true},
    {DType::I8, "i8", 1, 1, false},
    {DType::I16, "i16", 1, 2, false},
    {DType::I32, "i32", 1, 4, false},
    {DType::F64, "f64", 1, 8, false},
    {DType::BF16, "bf16", 1, 2, false},
}};
constexpr DTypeTraits kU8 = {DType::U8, "u8", 1, 1, false};

}  // namespace

const DTypeTraits& dtype_traits(DType t) {
  if (t == DType::U8) return kU8;
  for (const auto& tr : kTraits) {
    if (tr.type == t) return tr;
  }
  fail("unknown dtype id ", static_cast<uint32_t>(t));
}

std::optional<DType> dtype_from_ggml(uint32_t id) {
  for (const auto& tr : kTraits) {
    if (static_cast<uint32_t>(tr.type) == id) return tr.type;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == kU8.name) return DType::U8;
  for (const auto& tr : kTraits) {
    if (lower == tr.name) return tr.type;
  }
  return std::nullopt;
}

uint64_t dtype_row_bytes(DType t, uint64_t n) {
  const DTypeTraits& tr = dtype_traits(t);
  if (n % tr.block_elems != 0) {
    fail(n, " elements is not a multiple of the ", tr.name, " block size ", tr.block_elems);
  }
  return n / tr.block_elems * tr.block_bytes;
}

}  // namespace unicorn
