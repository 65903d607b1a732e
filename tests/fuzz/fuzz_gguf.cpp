// libFuzzer target: parse arbitrary bytes as a GGUF file from memory, then touch every metadata value and every
// tensor byte so that a view outside the input is caught by ASan. Any crash, sanitizer report, hang, huge allocation
// or exception other than unicorn::Error is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/error.h"
#include "formats/gguf.h"

namespace {

uint64_t touch(const unicorn::MetaValue& v) {
  uint64_t sum = static_cast<uint64_t>(v.type);
  if (v.type == unicorn::MetaType::ARRAY) {
    for (const unicorn::MetaValue& item : v.as_array().items) sum += touch(item);
  } else if (v.type == unicorn::MetaType::STRING) {
    sum += v.as_string().size();
  } else if (v.is_number()) {
    sum += static_cast<uint64_t>(v.as_double() != 0);
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    unicorn::GgufReader r = unicorn::GgufReader::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
    uint64_t sum = 0;
    for (const auto& [key, value] : r.metadata().entries()) sum += key.size() + touch(value);
    for (const unicorn::TensorView& t : r.tensors()) {
      for (uint64_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
      sum += static_cast<uint64_t>(t.elements());
    }
    volatile uint64_t sink = sum;
    (void)sink;
  } catch (const unicorn::Error&) {
    // Clean rejection is the expected outcome for malformed input.
  }
  return 0;
}
