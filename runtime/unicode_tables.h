#pragma once
// Generated Unicode data (runtime/unicode_tables.cpp, made by runtime/tools/gen_unicode_tables.py).
#include <cstddef>
#include <cstdint>

namespace unicorn::unicode_data {

// Code points from `first` up to the next range's first all have `flags` (CpFlag bits, runtime/unicode.h).
struct FlagRange {
  uint32_t first;
  uint16_t flags;
};
// A simple one-to-one case mapping, sorted by `from`.
struct CasePair {
  uint32_t from;
  uint32_t to;
};

extern const char* const kUnicodeVersion;
extern const FlagRange kFlagRanges[];
extern const size_t kFlagRangeCount;
extern const CasePair kLowerMap[];
extern const size_t kLowerMapCount;
extern const CasePair kUpperMap[];
extern const size_t kUpperMapCount;

}  // namespace unicorn::unicode_data
