// libFuzzer target: parse arbitrary bytes as a SentencePiece tokenizer.model (protobuf ModelProto), then write the
// result back and parse that again (it must round-trip). Any crash, sanitizer report, hang or exception other than
// unicorn::Error is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "base/error.h"
#include "formats/sentencepiece.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unicorn::SpmModel m;
  try {
    m = unicorn::SentencePieceReader::parse(std::span<const uint8_t>(data, size), "fuzz.model");
  } catch (const unicorn::Error&) {
    return 0;  // clean rejection of malformed input
  }
  const std::string again = unicorn::SentencePieceWriter::serialize(m);
  const unicorn::SpmModel r = unicorn::SentencePieceReader::parse(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(again.data()), again.size()), "again.model");
  if (r.pieces.size() != m.pieces.size() || r.model_type != m.model_type || r.bos_id != m.bos_id) std::abort();
  return 0;
}
