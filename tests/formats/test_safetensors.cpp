// SafetensorsReader, HfCheckpoint and open_model_source on HF directories: real fixtures and hand-made bad files.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/half.h"
#include "formats/model_source.h"
#include "formats/safetensors.h"
#include "formats/ucn.h"
#include "tests/formats/format_test_util.h"
#include "tests/test_util.h"

using namespace unicorn;
using unicorn::test::expect_error;
using unicorn::test::write_bytes;
using nlohmann::json;

namespace {

// A safetensors file from a header JSON text and a data area.
std::vector<uint8_t> make_st(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

std::vector<uint8_t> floats_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

SafetensorsReader parse_st(const std::vector<uint8_t>& bytes) { return SafetensorsReader::parse(bytes, "mem.st"); }

}  // namespace

TEST_CASE("safetensors: llama-tiny fixture tensors match config.json and hold plausible values", "[safetensors]") {
  const std::string dir = unicorn::test::shared_path("fixtures/hf/llama-tiny");
  if (dir.empty()) UNICORN_SKIP("../shared/fixtures/hf/llama-tiny absent");
  SafetensorsReader r(dir + "/model.safetensors");
  const json cfg = json::parse(read_text_file(dir + "/config.json"));
  const int64_t vocab = cfg["vocab_size"], hidden = cfg["hidden_size"], inter = cfg["intermediate_size"];
  const int64_t layers = cfg["num_hidden_layers"];
  // embed, lm_head, final norm, and 9 tensors per layer (4 attention, 3 mlp, 2 norms)
  CHECK(r.tensors().size() == static_cast<size_t>(3 + 9 * layers));
  CHECK(r.metadata().at("format") == "pt");

  const TensorView* emb = r.find("model.embed_tokens.weight");
  REQUIRE(emb != nullptr);
  CHECK(emb->dtype == DType::F32);
  CHECK(emb->shape == std::vector<int64_t>{vocab, hidden});
  CHECK(emb->nbytes == uint64_t(vocab * hidden * 4));
  CHECK(emb->rows() == vocab);
  CHECK(emb->cols() == hidden);
  const TensorView& down = *r.find("model.layers.0.mlp.down_proj.weight");
  CHECK(down.shape == std::vector<int64_t>{hidden, inter});

  // Weights are N(0, 0.05); 1-D norms are 1 +- 0.1 (see shared/README.md). A wrong data offset would break both.
  std::vector<float> e(emb->elements());
  std::memcpy(e.data(), emb->data, emb->nbytes);
  double sq = 0;
  for (float x : e) sq += double(x) * x;
  const double std_dev = std::sqrt(sq / e.size());
  CHECK(std_dev > 0.04);
  CHECK(std_dev < 0.06);
  const TensorView& norm = *r.find("model.norm.weight");
  REQUIRE(norm.shape == std::vector<int64_t>{hidden});
  for (int64_t i = 0; i < hidden; ++i) {
    float x;
    std::memcpy(&x, norm.data + 4 * i, 4);
    CHECK(std::fabs(x - 1.0f) <= 0.5f);
  }
  CHECK(r.find("nope") == nullptr);
}

TEST_CASE("safetensors: bf16 fixture agrees with the f32 fixture's shapes", "[safetensors]") {
  const std::string d32 = unicorn::test::shared_path("fixtures/hf/llama-tiny");
  const std::string d16 = unicorn::test::shared_path("fixtures/hf/llama-tiny-bf16");
  if (d32.empty() || d16.empty()) UNICORN_SKIP("llama-tiny fixtures absent");
  HfCheckpoint a(d32), b(d16);
  REQUIRE(a.tensors().size() == b.tensors().size());
  for (const TensorView& t : b.tensors()) {
    const TensorView* u = a.find(t.name);
    REQUIRE(u != nullptr);
    CHECK(t.shape == u->shape);
    CHECK(t.dtype == DType::BF16);
    CHECK(t.nbytes * 2 == u->nbytes);
  }
  // Norm weights around 1 survive bf16 within its precision.
  const TensorView& n = *b.find("model.norm.weight");
  uint16_t h;
  std::memcpy(&h, n.data, 2);
  CHECK(std::fabs(bf16_to_f32(h) - 1.0f) <= 0.5f);
}

TEST_CASE("safetensors: __metadata__, dtypes and zero-sized tensors", "[safetensors]") {
  std::vector<uint8_t> data = floats_bytes({1.5f, -2.0f});
  data.push_back(7);             // U8 [1] at 8
  data.push_back(uint8_t(-3));   // I8 [1] at 9
  const uint16_t f16 = f32_to_f16(0.5f), b16 = f32_to_bf16(3.0f);
  data.insert(data.end(), {uint8_t(f16), uint8_t(f16 >> 8), uint8_t(b16), uint8_t(b16 >> 8)});
  const std::string header = R"({"__metadata__":{"format":"pt","x":"y"},
    "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
    "u":{"dtype":"U8","shape":[1,1],"data_offsets":[8,9]},
    "i":{"dtype":"I8","shape":[1],"data_offsets":[9,10]},
    "h":{"dtype":"F16","shape":[1],"data_offsets":[10,12]},
    "b":{"dtype":"BF16","shape":[],"data_offsets":[12,14]},
    "z":{"dtype":"F32","shape":[0,5],"data_offsets":[14,14]},
    "w":{"dtype":"F32","shape":[5,0],"data_offsets":[14,14]}})";
  const auto bytes = make_st(header, data);
  SafetensorsReader r = parse_st(bytes);
  CHECK(r.metadata().size() == 2);
  CHECK(r.metadata().at("x") == "y");
  REQUIRE(r.tensors().size() == 7);
  CHECK(r.find("w")->rows() == 5);  // zero-width tensors have rows and no division by zero
  CHECK(r.find("w")->elements() == 0);
  CHECK(r.find("u")->dtype == DType::U8);
  CHECK(r.find("u")->data[0] == 7);
  CHECK(int8_t(r.find("i")->data[0]) == -3);
  CHECK(r.find("h")->dtype == DType::F16);
  CHECK(f16_to_f32(uint16_t(r.find("h")->data[0] | r.find("h")->data[1] << 8)) == 0.5f);
  CHECK(r.find("b")->shape.empty());
  CHECK(r.find("b")->elements() == 1);
  CHECK(r.find("z")->nbytes == 0);
  CHECK(r.find("z")->rows() == 0);
  CHECK(r.find("z")->cols() == 5);
  float a1;
  std::memcpy(&a1, r.find("a")->data + 4, 4);
  CHECK(a1 == -2.0f);
  CHECK(r.data_offset() == 8 + header.size());
}

TEST_CASE("safetensors: malformed files give a clean Error naming the problem", "[safetensors]") {
  const std::vector<uint8_t> data(16, 0);
  auto bad = [&](const std::string& header, const std::string& needle, std::vector<uint8_t> d = {}) {
    if (d.empty()) d = data;
    expect_error([&] { parse_st(make_st(header, d)); }, needle);
  };
  SECTION("too short") { expect_error([] { parse_st({1, 2, 3}); }, "too short"); }
  SECTION("header length huge") {
    std::vector<uint8_t> b(64, ' ');
    const uint64_t n = uint64_t(1) << 62;
    std::memcpy(b.data(), &n, 8);
    expect_error([&] { parse_st(b); }, "exceeds the limit");
  }
  SECTION("header length past end") {
    auto b = make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data);
    b.resize(20);
    expect_error([&] { parse_st(b); }, "runs past the end of the file");
  }
  SECTION("bad json") { bad(R"({"a":{"dtype":"F32",)", "not valid JSON"); }
  SECTION("json not an object") { bad(R"([1,2,3])", "must be a JSON object"); }
  SECTION("entry not an object") { bad(R"({"a":5})", "tensor entry must be an object"); }
  SECTION("missing dtype") { bad(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", "a: dtype: missing"); }
  SECTION("unsupported dtype names tensor and dtype") {
    bad(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", "w: dtype: unsupported safetensors dtype \"F64\"");
  }
  SECTION("negative dim") { bad(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "negative"); }
  SECTION("fractional dim") { bad(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "non-negative integer"); }
  SECTION("element count overflow") {
    bad(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", "overflows");
  }
  SECTION("partial element count overflow hidden by a zero dim") {
    bad(R"({"a":{"dtype":"F32","shape":[4611686018427387904,3,0],"data_offsets":[0,0]}})", "element count overflows");
  }
  SECTION("byte size overflow") {
    bad(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", "overflows");
  }
  SECTION("offsets out of range") {
    bad(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", "runs past the data area");
  }
  SECTION("offsets huge") {
    bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551616]}})",
        "data_offsets");
  }
  SECTION("end before begin") { bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", "before begin"); }
  SECTION("size mismatch with dtype") {
    bad(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})", "holds 16 bytes but F16 with 4 elements needs 8");
  }
  SECTION("overlapping tensors") {
    bad(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
        "overlap");
  }
  SECTION("offsets wrong arity") { bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "[begin, end]"); }
  SECTION("metadata not strings") { bad(R"({"__metadata__":{"k":1}})", "__metadata__.k: must be a string"); }
  SECTION("unknown field") { bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", "unknown field"); }
}

TEST_CASE("safetensors: HfCheckpoint directory rules", "[safetensors]") {
  namespace fs = std::filesystem;
  const std::string dir = unicorn::test::temp_dir("hfck");
  const std::string h0 = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string h1 = R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  write_bytes(dir + "/model-00001-of-00002.safetensors", make_st(h0, floats_bytes({1, 2})));
  write_bytes(dir + "/model-00002-of-00002.safetensors", make_st(h1, floats_bytes({3})));

  expect_error([&] { HfCheckpoint ck(dir); }, "missing config.json");
  write_bytes(dir + "/config.json", std::string(R"({"model_type":"llama"})"));
  expect_error([&] { HfCheckpoint ck(dir); }, "neither model.safetensors");

  const std::string index = dir + "/model.safetensors.index.json";
  write_bytes(index, std::string(R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors",
      "b":"model-00002-of-00002.safetensors"}})"));
  {
    HfCheckpoint ck(dir);
    CHECK(ck.shards().size() == 2);
    REQUIRE(ck.tensors().size() == 2);
    float b;
    std::memcpy(&b, ck.find("b")->data, 4);
    CHECK(b == 3.0f);
    auto src = open_model_source(dir);
    CHECK(src->metadata().get_string("unicorn.source_format") == "hf");
    CHECK(src->metadata().get_string("hf.config_json") == R"({"model_type":"llama"})");
    CHECK(!src->metadata().has("hf.tokenizer_json"));
    CHECK(src->require("a").shape == std::vector<int64_t>{2});
    expect_error([&] { src->require("missing.weight"); }, "missing.weight: required tensor is missing");
  }
  write_bytes(index, std::string(R"({"weight_map":{"a":"../model-00001-of-00002.safetensors"}})"));
  expect_error([&] { HfCheckpoint ck(dir); }, "plain file name");
  write_bytes(index, std::string(R"({"weight_map":{"a":"model-00002-of-00002.safetensors"}})"));
  expect_error([&] { HfCheckpoint ck(dir); }, "not in its shard");
  write_bytes(index, std::string(R"({"weight_map":{"a":"model-00003-of-00002.safetensors"}})"));
  expect_error([&] { HfCheckpoint ck(dir); }, "cannot open");
  write_bytes(index, std::string(R"({"weight_map":{}})"));
  expect_error([&] { HfCheckpoint ck(dir); }, "weight_map");
  write_bytes(index, std::string(R"({"weight_map":{"a":"model-00001-of-00002.safetensors", "b":"model-00001-of-00002.safetensors"}})"));
  expect_error([&] { HfCheckpoint ck(dir); }, "not in its shard");
  // Same tensor in two shards.
  write_bytes(dir + "/model-00002-of-00002.safetensors", make_st(h0, floats_bytes({1, 2})));
  write_bytes(index, std::string(R"({"weight_map":{"a":"model-00001-of-00002.safetensors","x":"model-00002-of-00002.safetensors"}})"));
  expect_error([&] { HfCheckpoint ck(dir); }, "more than one shard");
  fs::remove_all(dir);
}

TEST_CASE("model_source: HF fixture directory exposes config and tokenizer side files", "[model_source]") {
  const std::string dir = unicorn::test::shared_path("fixtures/hf/gemma3-tiny");
  if (dir.empty()) UNICORN_SKIP("gemma3-tiny fixture absent");
  auto src = open_model_source(dir);
  const Metadata& md = src->metadata();
  CHECK(md.get_string("unicorn.source_format") == "hf");
  CHECK(md.get_string("hf.config_json") == read_text_file(dir + "/config.json"));
  CHECK(json::parse(md.get_string("hf.config_json"))["model_type"] == "gemma3_text");
  CHECK(src->path() == dir);
  CHECK(!src->tensors().empty());
  for (const TensorView& t : src->tensors()) CHECK(src->find(t.name) == &t);

  const std::string sl = unicorn::test::shared_path("models/shakespeare-llama");
  if (sl.empty()) UNICORN_SKIP("shakespeare-llama absent");
  auto s2 = open_model_source(sl);
  CHECK(s2->metadata().get_string("hf.tokenizer_json") == read_text_file(sl + "/tokenizer.json"));
  if (std::filesystem::exists(sl + "/tokenizer_config.json")) {
    CHECK(s2->metadata().has("hf.tokenizer_config_json"));
  }
  CHECK(s2->require("model.embed_tokens.weight").dtype == DType::BF16);
}

TEST_CASE("model_source: bare .safetensors files, unknown files and missing paths", "[model_source]") {
  const std::string dir = unicorn::test::temp_dir("msrc");
  write_bytes(dir + "/w.safetensors",
              make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats_bytes({4})));
  auto src = open_model_source(dir + "/w.safetensors");
  CHECK(src->metadata().get_string("unicorn.source_format") == "hf");
  CHECK(!src->metadata().has("hf.config_json"));
  CHECK(src->tensors().size() == 1);
  write_bytes(dir + "/junk.bin", std::string("hello, this is not a model"));
  expect_error([&] { open_model_source(dir + "/junk.bin"); }, "junk.bin");
  expect_error([&] { open_model_source(dir + "/nothing-here"); }, "no such file");
  std::filesystem::remove_all(dir);
}

TEST_CASE("model_source: dispatches .ucn files by magic and refuses look-alikes", "[model_source]") {
  const std::string dir = unicorn::test::temp_dir("msrc-ucn");
  const std::vector<float> v = {1, 2, 3};
  {
    UcnWriter w(dir + "/m.ucn");
    Metadata md;
    md.set("general.architecture", MetaValue::str("llama"));
    w.set_metadata(md);
    w.add_tensor(TensorView{"t", DType::F32, {3}, reinterpret_cast<const uint8_t*>(v.data()), 12});
    w.finish();
  }
  auto src = open_model_source(dir + "/m.ucn", true);
  CHECK(src->metadata().get_string("general.architecture") == "llama");
  REQUIRE(src->tensors().size() == 1);
  CHECK(std::memcmp(src->require("t").data, v.data(), 12) == 0);
  write_bytes(dir + "/fake.ucn", std::string("UCN0 but not really a ucn file at all"));
  expect_error([&] { open_model_source(dir + "/fake.ucn"); }, "unrecognized model format");
  std::filesystem::remove_all(dir);
}
