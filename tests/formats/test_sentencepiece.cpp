// SentencePiece tokenizer.model codec: write/read round trip, protobuf facts (negative ids, unknown fields), and
// truncation at every byte or corrupt bytes give a one-line Error naming the file and a field, never a crash.
#include <catch2/catch.hpp>

#include <string>

#include "base/error.h"
#include "formats/sentencepiece.h"
#include "tests/test_util.h"

using namespace unicorn;

namespace {

SpmModel sample() {
  SpmModel m;
  m.pieces = {{"<unk>", 0.0f, 2}, {"<s>", 0.0f, 3}, {"</s>", 0.0f, 3}, {"<0x41>", 0.0f, 6},
              {"\xE2\x96\x81hello", -1.5f, 1}, {"wor", -2.25f, 1}, {"[X]", 0.0f, 4}};
  m.model_type = SpmModel::kBpe;
  m.byte_fallback = true;
  m.pad_id = -1;
  m.normalizer_name = "identity";
  m.add_dummy_prefix = false;
  return m;
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

TEST_CASE("sentencepiece: written ModelProto reads back field for field", "[sentencepiece]") {
  const SpmModel m = sample();
  const std::string bytes = SentencePieceWriter::serialize(m);
  const SpmModel r = SentencePieceReader::parse(as_bytes(bytes), "t.model");
  REQUIRE(r.pieces.size() == m.pieces.size());
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    CHECK(r.pieces[i].piece == m.pieces[i].piece);
    CHECK(r.pieces[i].score == m.pieces[i].score);
    CHECK(r.pieces[i].type == m.pieces[i].type);
  }
  CHECK(r.model_type == SpmModel::kBpe);
  CHECK(r.byte_fallback);
  CHECK(r.pad_id == -1);  // a 10-byte varint
  CHECK(r.bos_id == 1);
  CHECK(r.normalizer_name == "identity");
  CHECK_FALSE(r.add_dummy_prefix);
  CHECK(r.remove_extra_whitespaces);

  // Fields we do not know (here: field 4 self_test_data, and a fixed64 field 99) are skipped.
  std::string extra = bytes;
  extra += std::string("\x22\x03" "abc", 5);                  // field 4, length-delimited
  extra += std::string("\x99\x06" "12345678", 10);            // field 99, wire type 1
  CHECK(SentencePieceReader::parse(as_bytes(extra), "t.model").pieces.size() == m.pieces.size());

  // Through a file (atomic write) as well.
  const std::string dir = test::temp_dir("spm");
  SentencePieceWriter::write(m, dir + "/tokenizer.model");
  CHECK(SentencePieceReader::open(dir + "/tokenizer.model").pieces.size() == m.pieces.size());
}

TEST_CASE("sentencepiece: truncated or corrupt tokenizer.model is a one-line error naming file and field",
          "[sentencepiece]") {
  const std::string bytes = SentencePieceWriter::serialize(sample());
  // Every proper prefix either parses to fewer fields or fails with an Error naming the file; cutting inside the
  // last message (the normalizer spec) must fail since a length then runs past the end.
  int failed = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    try {
      SentencePieceReader::parse(as_bytes(bytes.substr(0, n)), "cut.model");
    } catch (const Error& e) {
      ++failed;
      const std::string msg = e.what();
      CHECK(msg.find("cut.model") != std::string::npos);
      CHECK(msg.find('\n') == std::string::npos);
      CHECK(!e.context().field.empty());
    }
  }
  CHECK(failed > static_cast<int>(bytes.size()) / 2);
  CHECK_THROWS_WITH(SentencePieceReader::parse(as_bytes(bytes.substr(0, bytes.size() - 1)), "cut.model"),
                    Catch::Contains("normalizer_spec") && Catch::Contains("past the end"));
  CHECK_THROWS_WITH(SentencePieceReader::parse(as_bytes(bytes.substr(0, 3)), "cut.model"),
                    Catch::Contains("pieces[0]"));

  std::string bad_type = bytes;
  bad_type[0] = static_cast<char>((1 << 3) | 3);  // pieces with wire type 3 (start group)
  CHECK_THROWS_WITH(SentencePieceReader::parse(as_bytes(bad_type), "g.model"), Catch::Contains("g.model") && Catch::Contains("pieces[0]"));
  const std::string huge = std::string("\x0a\xff\xff\xff\xff\x0f", 6);  // pieces, length 4 GiB
  CHECK_THROWS_WITH(SentencePieceReader::parse(as_bytes(huge), "h.model"), Catch::Contains("past the end"));
  const std::string endless(16, '\xff');  // a varint that never ends
  CHECK_THROWS_WITH(SentencePieceReader::parse(as_bytes(endless), "v.model"), Catch::Contains("varint"));
  CHECK_THROWS_WITH(SentencePieceReader::parse(as_bytes(std::string("{\"a\": 1}")), "json.model"), Catch::Contains("json.model"));
  CHECK_THROWS_WITH(SentencePieceReader::open("/nonexistent/tokenizer.model"), Catch::Contains("/nonexistent/tokenizer.model"));
  // A bos id past the pieces.
  SpmModel m = sample();
  m.bos_id = 100;
  CHECK_THROWS_WITH(SentencePieceReader::parse(as_bytes(SentencePieceWriter::serialize(m)), "ids.model"),
                    Catch::Contains("trainer_spec.bos_id"));
}
