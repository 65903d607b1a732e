// libFuzzer target: parse arbitrary bytes as a safetensors file from memory, then touch every tensor byte so that
// a view outside the input is caught by ASan. Any crash, sanitizer report, hang or exception other than
// unicorn::Error is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/error.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    unicorn::SafetensorsReader r =
        unicorn::SafetensorsReader::parse(std::span<const uint8_t>(data, size), "fuzz.safetensors");
    uint64_t sum = 0;
    for (const unicorn::TensorView& t : r.tensors()) {
      for (uint64_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
      sum += static_cast<uint64_t>(t.elements());
    }
    for (const auto& [k, v] : r.metadata()) sum += k.size() + v.size();
    volatile uint64_t sink = sum;
    (void)sink;
  } catch (const unicorn::Error&) {
    // Clean rejection is the expected outcome for malformed input.
  }
  return 0;
}
