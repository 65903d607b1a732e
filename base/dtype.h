#pragma once
// Element types of stored tensors. Numeric values are GGML's type ids so GGUF files map 1:1.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace unicorn {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,  // activations only (never stored in files we write)
  I8 = 24,
  I16 = 25,
  I32 = 26,
  F64 = 28,
  BF16 = 30,
  U8 = 1000,  // safetensors-only types live above GGML's id range
};

struct DTypeTraits {
  DType type;
  const char* name;     // lower-case, as printed by inspect and accepted on the command line
  uint32_t block_elems; // elements per block (1 for plain types)
  uint32_t block_bytes; // bytes per block
  bool quantized;
};

// Traits of a type; throws Error for unknown ids.
const DTypeTraits& dtype_traits(DType t);
// Looks up a GGML type id; nullopt when unknown or unsupported.
std::optional<DType> dtype_from_ggml(uint32_t id);
// Parses a name such as "q4_k", "Q4_K", "bf16"; nullopt when unknown.
std::optional<DType> dtype_from_name(std::string_view name);
inline const char* dtype_name(DType t) { return dtype_traits(t).name; }

// Bytes of a row of n elements; throws Error when n is not a multiple of the block size.
uint64_t dtype_row_bytes(DType t, uint64_t n);
// Bytes of a tensor with the given element count; same rule as rows.
inline uint64_t dtype_bytes(DType t, uint64_t elems) { return dtype_row_bytes(t, elems); }

}  // namespace unicorn
