// libFuzzer target: parse arbitrary bytes as a .ucn file from memory (with tensor checksum verification), then
// touch every tensor byte. Each input is parsed twice: as given, and with its header checksum recomputed so that
// mutations reach the metadata/directory/zstd parsers behind the checksum. Any crash, sanitizer report, hang or
// exception other than unicorn::Error is a bug.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "base/error.h"
#include "formats/ucn.h"

namespace {

void parse(std::span<const uint8_t> bytes) {
  try {
    auto r = unicorn::UcnReader::from_memory(bytes, "fuzz.ucn", true);
    uint64_t sum = 0;
    for (const unicorn::TensorView& t : r->tensors()) {
      for (uint64_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
    }
    for (const auto& [key, value] : r->metadata().entries()) sum += key.size() + static_cast<uint64_t>(value.type);
    (void)r->verify_tensors();
    volatile uint64_t sink = sum;
    (void)sink;
  } catch (const unicorn::Error&) {
    // Clean rejection is the expected outcome for malformed input.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parse(std::span<const uint8_t>(data, size));
  if (size < unicorn::kUcnHeaderSize) return 0;
  // Same bytes with a valid header checksum (docs/FORMAT.md: xxh3 over [0,88) + [96, directory end)).
  std::vector<uint8_t> fixed(data, data + size);
  uint64_t dir_off, dir_size;
  std::memcpy(&dir_off, data + 48, 8);
  std::memcpy(&dir_size, data + 56, 8);
  uint64_t end = size;
  if (dir_off <= size && dir_size <= size - dir_off) end = dir_off + dir_size;
  if (end < unicorn::kUcnHeaderSize) end = unicorn::kUcnHeaderSize;
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, fixed.data(), 88);
  XXH3_64bits_update(st, fixed.data() + unicorn::kUcnHeaderSize, end - unicorn::kUcnHeaderSize);
  const uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  std::memcpy(fixed.data() + 88, &h, 8);
  parse(fixed);
  return 0;
}
