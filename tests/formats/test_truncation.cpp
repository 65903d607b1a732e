// Robustness: valid GGUF and safetensors files cut at every offset of their header and tensor directory, and
// with single bits flipped, must give a clean unicorn::Error (or, for harmless flips, a consistent parse) and
// never crash, hang or hand out views outside the bytes.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "tests/formats/format_test_util.h"
#include "tests/test_util.h"

using namespace unicorn;

namespace {

// Every view lies inside BYTES; the parse is only acceptable if this holds.
template <typename Reader>
void check_views_inside(const Reader& r, const std::vector<uint8_t>& bytes) {
  const uint8_t* lo = bytes.data();
  const uint8_t* hi = bytes.data() + bytes.size();
  for (const TensorView& t : r.tensors()) {
    if (t.nbytes == 0) continue;
    REQUIRE(t.data >= lo);
    REQUIRE(t.data <= hi);
    REQUIRE(t.nbytes <= uint64_t(hi - t.data));
  }
}

// Parses a prefix of BYTES of length N; returns true on success, false on unicorn::Error. Anything else fails.
template <typename Reader>
bool try_parse(const std::vector<uint8_t>& bytes, size_t n) {
  std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
  try {
    Reader r = Reader::parse(prefix, "cut");
    check_views_inside(r, prefix);
    return true;
  } catch (const unicorn::Error& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    CHECK(what.rfind("cut", 0) == 0);  // names the file first
    return false;
  }
}

template <typename Reader>
size_t flip_every_bit(std::vector<uint8_t> bytes, size_t begin, size_t end) {
  size_t errors = 0;
  for (size_t i = begin; i < end; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      bytes[i] ^= uint8_t(1u << bit);
      if (!try_parse<Reader>(bytes, bytes.size())) ++errors;
      bytes[i] ^= uint8_t(1u << bit);
    }
  }
  return errors;
}

// A small GGUF made by our writer with arrays, strings and a few tensors.
std::vector<uint8_t> small_gguf(const std::string& dir) {
  GgufWriter w;
  w.set("general.architecture", MetaValue::str("llama"));
  w.set("llama.block_count", MetaValue::u32(2));
  w.set("llama.rope.freq_base", MetaValue::f32(10000.0f));
  w.set("tokenizer.ggml.tokens", MetaValue::array(MetaType::STRING, {MetaValue::str("<unk>"), MetaValue::str("<s>"),
                                                                     MetaValue::str("</s>"), MetaValue::str("ab")}));
  w.set("tokenizer.ggml.scores", MetaValue::array(MetaType::F32, {MetaValue::f32(0), MetaValue::f32(-1),
                                                                  MetaValue::f32(-2), MetaValue::f32(-3)}));
  w.set("nested", MetaValue::array(MetaType::ARRAY, {MetaValue::array(MetaType::I32, {MetaValue::i32(7)})}));
  std::vector<uint8_t> data(4 * 64 + 34 * 2, 0x3c);
  w.add_tensor("a", DType::F32, {4, 16}, data.data(), 4 * 64);
  w.add_tensor("b", DType::Q8_0, {2, 32}, data.data(), 68);
  w.add_tensor("c", DType::F16, {3}, data.data(), 6);
  w.write(dir + "/small.gguf");
  return unicorn::test::read_bytes(dir + "/small.gguf");
}

// Where the last tensor's bytes end (the file may carry padding after it).
template <typename Reader>
size_t needed_size(const std::vector<uint8_t>& bytes) {
  Reader r = Reader::parse(bytes, "full");
  size_t end = r.data_offset();
  for (const TensorView& t : r.tensors()) end = std::max(end, size_t(t.data - bytes.data()) + size_t(t.nbytes));
  return end;
}

}  // namespace

TEST_CASE("truncation: a GGUF cut at every offset gives a clean Error", "[truncation][gguf]") {
  const std::string dir = unicorn::test::temp_dir("trunc-gguf");
  const std::vector<uint8_t> bytes = small_gguf(dir);
  const size_t need = needed_size<GgufReader>(bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("cut at " << n << " of " << bytes.size());
    CHECK(try_parse<GgufReader>(bytes, n) == (n >= need));
  }
  // Through the mmap path too, at a few offsets.
  for (size_t n : {size_t(0), size_t(3), size_t(20), size_t(100), need - 1}) {
    unicorn::test::write_bytes(dir + "/cut.gguf",
                               std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)));
    CHECK_THROWS_AS(GgufReader(dir + "/cut.gguf"), unicorn::Error);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("truncation: tiny-synth-llama.gguf cut through its kv section and tensor directory", "[truncation][gguf]") {
  const std::string path = unicorn::test::shared_path("models/tiny-synth-llama.gguf");
  if (path.empty()) UNICORN_SKIP("tiny-synth-llama.gguf absent");
  const std::vector<uint8_t> bytes = unicorn::test::read_bytes(path);
  GgufReader full = GgufReader::parse(bytes, "full");
  const size_t data_offset = full.data_offset();
  // The kv section holds a 4096-token vocabulary, so every offset there would be quadratic: take every 37th
  // offset plus the whole first KiB; the tensor directory (the last few KiB before the data) gets every offset.
  const size_t dir_start = data_offset > 4096 ? data_offset - 4096 : 0;
  size_t cuts = 0;
  for (size_t n = 0; n <= data_offset; ++n) {
    if (n >= 1024 && n < dir_start && n % 37 != 0) continue;
    INFO("cut at " << n);
    CHECK_FALSE(try_parse<GgufReader>(bytes, n));
    ++cuts;
  }
  CHECK(cuts > 4096);
  // And inside the tensor data.
  const size_t need = needed_size<GgufReader>(bytes);
  for (size_t n = data_offset; n < need; n += 4099) CHECK_FALSE(try_parse<GgufReader>(bytes, n));
  CHECK_FALSE(try_parse<GgufReader>(bytes, need - 1));
  CHECK(try_parse<GgufReader>(bytes, need));
}

TEST_CASE("truncation: a safetensors file cut at every offset gives a clean Error", "[truncation][safetensors]") {
  const std::string path = unicorn::test::shared_path("fixtures/hf/llama-tiny/model.safetensors");
  if (path.empty()) UNICORN_SKIP("llama-tiny fixture absent");
  const std::vector<uint8_t> bytes = unicorn::test::read_bytes(path);
  const size_t data_offset = SafetensorsReader::parse(bytes, "full").data_offset();
  const size_t need = needed_size<SafetensorsReader>(bytes);
  CHECK(need == bytes.size());
  for (size_t n = 0; n <= data_offset; ++n) {
    INFO("cut at " << n);
    CHECK_FALSE(try_parse<SafetensorsReader>(bytes, n));
  }
  for (size_t n = data_offset; n < bytes.size(); n += 257) CHECK_FALSE(try_parse<SafetensorsReader>(bytes, n));
  CHECK_FALSE(try_parse<SafetensorsReader>(bytes, bytes.size() - 1));
  CHECK(try_parse<SafetensorsReader>(bytes, bytes.size()));
}

TEST_CASE("bit flips: every bit of a GGUF header and directory", "[truncation][gguf]") {
  const std::string dir = unicorn::test::temp_dir("flip-gguf");
  const std::vector<uint8_t> bytes = small_gguf(dir);
  const size_t header = GgufReader::parse(bytes, "full").data_offset();
  const size_t errors = flip_every_bit<GgufReader>(bytes, 0, header);
  // Flips inside string bytes or float values stay valid; flips in magic, counts, types, lengths must not.
  CHECK(errors > header);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bit flips: every bit of a safetensors header", "[truncation][safetensors]") {
  const std::string path = unicorn::test::shared_path("fixtures/hf/llama-tiny/model.safetensors");
  if (path.empty()) UNICORN_SKIP("llama-tiny fixture absent");
  std::vector<uint8_t> bytes = unicorn::test::read_bytes(path);
  const size_t header = SafetensorsReader::parse(bytes, "full").data_offset();
  const size_t errors = flip_every_bit<SafetensorsReader>(bytes, 0, header);
  CHECK(errors > header);
}
