// GgufReader on llama.cpp's files, GgufWriter round trips, and hand-made bad GGUF headers.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "base/half.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "formats/model_source.h"
#include "tests/formats/format_test_util.h"
#include "tests/test_util.h"

using namespace unicorn;
using unicorn::test::expect_error;
using unicorn::test::read_bytes;
using unicorn::test::write_bytes;

namespace {

// Little-endian byte builder for hand-made GGUF headers.
struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& put(T v) {
    const size_t n = b.size();
    b.resize(n + sizeof(T));
    std::memcpy(b.data() + n, &v, sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& pad(size_t a) {
    while (b.size() % a != 0) b.push_back(0);
    return *this;
  }
};

Bytes gguf_head(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
  Bytes h;
  h.put<uint32_t>(0x46554747).put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  return h;
}

GgufReader parse(const std::vector<uint8_t>& b) { return GgufReader::parse(b, "mem.gguf"); }

bool same_value(const MetaValue& a, const MetaValue& b) {
  if (a.type != b.type || a.v.index() != b.v.index()) return false;
  if (a.type == MetaType::ARRAY) {
    const MetaArray& x = a.as_array();
    const MetaArray& y = b.as_array();
    if (x.elem_type != y.elem_type || x.items.size() != y.items.size()) return false;
    for (size_t i = 0; i < x.items.size(); ++i) {
      if (!same_value(x.items[i], y.items[i])) return false;
    }
    return true;
  }
  if (auto d = std::get_if<double>(&a.v)) {
    const double e = std::get<double>(b.v);
    return std::memcmp(d, &e, sizeof(double)) == 0 || (std::isnan(*d) && std::isnan(e));
  }
  return a.v == b.v;
}

}  // namespace

TEST_CASE("gguf: llama.cpp vocab files parse with consistent tokenizer arrays", "[gguf]") {
  const std::string dir = unicorn::test::shared_path("vocab");
  if (dir.empty()) UNICORN_SKIP("../shared/vocab absent");
  struct Expect {
    const char* file;
    const char* arch;
    const char* model;
    size_t n_tokens;  // the published vocabulary sizes of these tokenizers
  };
  const Expect expects[] = {
      {"ggml-vocab-llama-spm.gguf", "llama", "llama", 32000},   {"ggml-vocab-phi-3.gguf", "phi3", "llama", 32064},
      {"ggml-vocab-gpt-2.gguf", "gpt2", "gpt2", 50257},         {"ggml-vocab-starcoder.gguf", "starcoder2", "gpt2", 49152},
      {"ggml-vocab-falcon.gguf", "falcon", "gpt2", 65024},      {"ggml-vocab-deepseek-coder.gguf", "llama", "gpt2", 32256},
  };
  size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".gguf") ++seen;
  }
  CHECK(seen == std::size(expects));
  for (const Expect& e : expects) {
    INFO(e.file);
    GgufReader r(dir + "/" + e.file);
    CHECK(r.version() == 3);
    CHECK(r.tensors().empty());
    const Metadata& md = r.metadata();
    CHECK(md.get_string("general.architecture") == e.arch);
    CHECK(md.get_string("tokenizer.ggml.model") == e.model);
    const MetaArray& tokens = md.get("tokenizer.ggml.tokens").as_array();
    CHECK(tokens.elem_type == MetaType::STRING);
    CHECK(tokens.items.size() == e.n_tokens);
    const MetaArray& types = md.get("tokenizer.ggml.token_type").as_array();
    CHECK(types.elem_type == MetaType::I32);
    CHECK(types.items.size() == tokens.items.size());
    if (auto vs = md.opt_int(std::string(e.arch) + ".vocab_size")) CHECK(size_t(*vs) == tokens.items.size());
    if (std::string(e.model) == "gpt2") {
      const MetaArray& merges = md.get("tokenizer.ggml.merges").as_array();
      CHECK(merges.items.size() > 1000);
      CHECK(merges.items[0].as_string().find(' ') != std::string::npos);  // "a b" pairs
    } else {
      CHECK(md.get("tokenizer.ggml.scores").as_array().items.size() == tokens.items.size());
      CHECK(tokens.items[1].as_string() == "<s>");
    }
    CHECK(md.get_int("tokenizer.ggml.bos_token_id") < int64_t(tokens.items.size()));
    CHECK(r.key_order().size() == md.size());
    CHECK(r.key_order().front() == "general.architecture");
  }
  // gpt-2's byte-level vocabulary starts with the printable bytes "!" and '"'.
  GgufReader g(dir + "/ggml-vocab-gpt-2.gguf");
  const MetaArray& toks = g.metadata().get("tokenizer.ggml.tokens").as_array();
  CHECK(toks.items[0].as_string() == "!");
  CHECK(toks.items[1].as_string() == "\"");
}

TEST_CASE("gguf: tiny-synth-llama tensors are reversed to outermost-first and in range", "[gguf]") {
  const std::string path = unicorn::test::shared_path("models/tiny-synth-llama.gguf");
  if (path.empty()) UNICORN_SKIP("tiny-synth-llama.gguf absent");
  GgufReader r(path);
  const Metadata& md = r.metadata();
  CHECK(md.get_string("general.architecture") == "llama");
  const int64_t width = md.get_int("llama.embedding_length");
  const int64_t vocab = md.get_int("llama.vocab_size");
  const int64_t ffn = md.get_int("llama.feed_forward_length");
  const int64_t layers = md.get_int("llama.block_count");
  CHECK(md.get("tokenizer.ggml.tokens").as_array().items.size() == size_t(vocab));
  CHECK(r.alignment() == 32);
  CHECK(r.data_offset() % 32 == 0);
  CHECK(r.tensors().size() == size_t(3 + 9 * layers));

  const TensorView& emb = *r.find("token_embd.weight");
  CHECK(emb.dtype == DType::F16);
  CHECK(emb.shape == std::vector<int64_t>{vocab, width});
  CHECK(emb.nbytes == uint64_t(vocab * width * 2));
  CHECK(r.find("blk.0.ffn_down.weight")->shape == std::vector<int64_t>{width, ffn});
  CHECK(r.find("blk.0.ffn_up.weight")->shape == std::vector<int64_t>{ffn, width});
  const TensorView& norm = *r.find("output_norm.weight");
  CHECK(norm.dtype == DType::F32);
  CHECK(norm.shape == std::vector<int64_t>{width});
  // Data pointers land inside the file, aligned relative to the data section.
  const auto file_size = std::filesystem::file_size(path);
  const uint8_t* base = r.tensors().front().data - 0;  // token_embd is first at offset 0
  CHECK(uint64_t(norm.data - base) % 32 == 0);
  for (const TensorView& t : r.tensors()) CHECK(uint64_t(t.data - base) + r.data_offset() + t.nbytes <= file_size);
  // F16 random weights are finite and small.
  double sq = 0;
  for (int64_t i = 0; i < width; ++i) {
    uint16_t h;
    std::memcpy(&h, emb.data + 2 * i, 2);
    const float x = f16_to_f32(h);
    REQUIRE(std::isfinite(x));
    sq += x * x;
  }
  CHECK(sq > 0);
  CHECK(sq / width < 1.0);

  auto src = open_model_source(path);
  CHECK(src->metadata().get_string("unicorn.source_format") == "gguf");
  CHECK(src->metadata().get_string("general.architecture") == "llama");
  CHECK(src->require("token_embd.weight").shape == emb.shape);
}

TEST_CASE("gguf: writer round trip of every value type, nested arrays and every stored dtype", "[gguf]") {
  const std::string dir = unicorn::test::temp_dir("gguf-rt");
  const std::string path = dir + "/rt.gguf";
  const std::vector<std::pair<std::string, MetaValue>> expected = {
      {"general.architecture", MetaValue::str("llama")},
      {"t.u8", {MetaType::U8, uint64_t{255}}},
      {"t.i8", {MetaType::I8, int64_t{-128}}},
      {"t.u16", {MetaType::U16, uint64_t{65535}}},
      {"t.i16", {MetaType::I16, int64_t{-32768}}},
      {"t.u32", MetaValue::u32(4000000000u)},
      {"t.i32", MetaValue::i32(-2000000000)},
      {"t.u64", MetaValue::u64(UINT64_MAX)},
      {"t.i64", {MetaType::I64, int64_t{INT64_MIN}}},
      {"t.f32", MetaValue::f32(1e-5f)},
      {"t.f64", {MetaType::F64, 3.141592653589793}},
      {"t.bool", MetaValue::boolean(true)},
      {"t.str", MetaValue::str(std::string("h\xc3\xa9llo\0world", 12))},
      {"t.empty_str", MetaValue::str("")},
      {"t.strs", MetaValue::array(MetaType::STRING, {MetaValue::str("a"), MetaValue::str(""), MetaValue::str("<s>")})},
      {"t.f32s", MetaValue::array(MetaType::F32, {MetaValue::f32(-0.0f), MetaValue::f32(INFINITY)})},
      {"t.empty", MetaValue::array(MetaType::I32, {})},
      {"t.nested", MetaValue::array(MetaType::ARRAY, {MetaValue::array(MetaType::U8, {{MetaType::U8, uint64_t{1}}}),
                                                       MetaValue::array(MetaType::STRING, {MetaValue::str("x")})})},
  };
  GgufWriter w;
  for (const auto& [k, v] : expected) w.set(k, v);
  w.set("t.replaced", MetaValue::u32(1));
  w.set("t.replaced", MetaValue::u32(2));

  struct Src {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<Src> srcs;
  uint32_t seed = 1;
  auto make = [&](const std::string& name, DType dt, std::vector<int64_t> shape) {
    std::vector<uint8_t> b(tensor_nbytes(dt, shape));
    for (auto& x : b) x = uint8_t((seed = seed * 1664525u + 1013904223u) >> 24);
    srcs.push_back({name, dt, std::move(shape), std::move(b)});
  };
  make("f32", DType::F32, {3, 5});
  make("f16", DType::F16, {7});
  make("bf16", DType::BF16, {2, 3, 4});
  make("q4_0", DType::Q4_0, {2, 64});
  make("q8_0", DType::Q8_0, {32});
  make("q4_k", DType::Q4_K, {2, 256});
  make("q5_k", DType::Q5_K, {256});
  make("q6_k", DType::Q6_K, {1, 1, 2, 256});
  make("i8", DType::I8, {9});
  make("i16", DType::I16, {5});
  make("i32", DType::I32, {3});
  make("f64", DType::F64, {2});
  for (const Src& s : srcs) {
    if (s.name == "q6_k") {
      // Streamed in uneven chunks, the way a quantizer would produce it.
      w.add_tensor(s.name, s.dtype, s.shape, s.bytes.size(), [&s](const GgufWriter::Sink& sink) {
        size_t pos = 0, step = 1;
        while (pos < s.bytes.size()) {
          const size_t n = std::min(step, s.bytes.size() - pos);
          sink(s.bytes.data() + pos, n);
          pos += n;
          step = step * 3 + 1;
        }
      });
    } else {
      w.add_tensor(s.name, s.dtype, s.shape, s.bytes.data(), s.bytes.size());
    }
  }
  w.write(path);

  GgufReader r(path);
  CHECK(r.version() == 3);
  REQUIRE(r.metadata().size() == 19);
  CHECK(r.key_order().front() == "general.architecture");
  CHECK(r.metadata().get_int("t.replaced") == 2);
  CHECK(r.metadata().get("t.u64").as_int() == -1);  // as_int reinterprets; the stored variant is exact:
  CHECK(std::get<uint64_t>(r.metadata().get("t.u64").v) == UINT64_MAX);
  CHECK(r.metadata().get_string("t.str") == std::string("h\xc3\xa9llo\0world", 12));
  CHECK(static_cast<float>(r.metadata().get_double("t.f32")) == 1e-5f);
  CHECK(std::signbit(r.metadata().get("t.f32s").as_array().items[0].as_double()));
  const MetaArray& nested = r.metadata().get("t.nested").as_array();
  REQUIRE(nested.items.size() == 2);
  CHECK(nested.items[1].as_array().items[0].as_string() == "x");
  // Every key we set comes back with the same type and value, in the order set.
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO(expected[i].first);
    CHECK(r.key_order()[i] == expected[i].first);
    CHECK(same_value(r.metadata().get(expected[i].first), expected[i].second));
  }
  REQUIRE(r.tensors().size() == srcs.size());
  for (size_t i = 0; i < srcs.size(); ++i) {
    const TensorView& t = r.tensors()[i];
    INFO(srcs[i].name);
    CHECK(t.name == srcs[i].name);
    CHECK(t.dtype == srcs[i].dtype);
    CHECK(t.shape == srcs[i].shape);
    REQUIRE(t.nbytes == srcs[i].bytes.size());
    CHECK(std::memcmp(t.data, srcs[i].bytes.data(), t.nbytes) == 0);
    CHECK(uint64_t(t.data - r.tensors()[0].data) % 32 == 0);
  }

  // Rewriting what we read yields the same bytes (writer and reader agree on every detail).
  GgufWriter copy;
  for (const auto& key : r.key_order()) copy.set(key, r.metadata().get(key));
  for (const TensorView& t : r.tensors()) copy.add_tensor(t.name, t.dtype, t.shape, t.data, t.nbytes);
  copy.write(dir + "/copy.gguf");
  CHECK(read_bytes(dir + "/copy.gguf") == read_bytes(path));
  GgufReader rc(dir + "/copy.gguf");
  for (const auto& [key, v] : r.metadata().entries()) {
    INFO(key);
    CHECK(same_value(v, rc.metadata().get(key)));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("gguf: writer alignment option and refusals", "[gguf]") {
  const std::string dir = unicorn::test::temp_dir("gguf-w");
  std::vector<float> v(8, 1.0f);
  {
    GgufWriter w;
    w.set_alignment(64);
    w.add_tensor("a", DType::F32, {1}, v.data(), 4);
    w.add_tensor("b", DType::F32, {8}, v.data(), 32);
    w.write(dir + "/a64.gguf");
    GgufReader r(dir + "/a64.gguf");
    CHECK(r.alignment() == 64);
    CHECK(r.metadata().get_int("general.alignment") == 64);
    CHECK(r.data_offset() % 64 == 0);
    CHECK(r.find("b")->data - r.find("a")->data == 64);
  }
  GgufWriter w;
  expect_error([&] { w.set_alignment(48); }, "power of two");
  expect_error([&] { w.add_tensor("x", DType::F32, {3}, v.data(), 8); }, "declared 8 bytes");
  expect_error([&] { w.add_tensor("x", DType::Q4_K, {100}, v.data(), 8); }, "block size");
  expect_error([&] { w.add_tensor("x", DType::U8, {1}, v.data(), 1); }, "no GGML type");
  expect_error([&] { w.add_tensor("x", DType::F32, {1, 1, 1, 1, 1}, v.data(), 4); }, "dimensions");
  expect_error([&] { w.add_tensor(std::string(64, 'n'), DType::F32, {1}, v.data(), 4); }, "at most 63");
  expect_error([&] { w.set("k", {MetaType::U8, uint64_t{256}}); }, "does not fit in u8");
  expect_error([&] { w.set("k", {MetaType::I16, int64_t{-40000}}); }, "does not fit in i16");
  expect_error([&] { w.set("k", MetaValue::array(MetaType::STRING, {MetaValue::u32(1)})); }, "array item of type u32");
  w.add_tensor("a", DType::F32, {1}, v.data(), 4);
  expect_error([&] { w.add_tensor("a", DType::F32, {1}, v.data(), 4); }, "duplicate");
  w.add_tensor("short", DType::F32, {2}, 8, [&](const GgufWriter::Sink& s) { s(v.data(), 4); });
  expect_error([&] { w.write(dir + "/bad.gguf"); }, "producer wrote 4 bytes, declared 8");
  CHECK(!std::filesystem::exists(dir + "/bad.gguf"));  // nothing half-written
  GgufWriter w3;
  w3.set("general.alignment", MetaValue::u32(16));
  expect_error([&] { w3.write(dir + "/c.gguf"); }, "disagrees");
  std::filesystem::remove_all(dir);
}

TEST_CASE("gguf: v2 files parse; v1, bad magic and corrupt headers are refused clearly", "[gguf]") {
  SECTION("v2 with a tensor") {
    Bytes b = gguf_head(2, 1, 1);
    b.str("general.architecture").put<uint32_t>(8).str("llama");
    b.str("w").put<uint32_t>(2).put<uint64_t>(3).put<uint64_t>(2).put<uint32_t>(0).put<uint64_t>(0);
    b.pad(32);
    for (int i = 0; i < 6; ++i) b.put<float>(float(i));
    GgufReader r = parse(b.b);
    CHECK(r.version() == 2);
    CHECK(r.find("w")->shape == std::vector<int64_t>{2, 3});
    float x;
    std::memcpy(&x, r.find("w")->data + 20, 4);
    CHECK(x == 5.0f);
  }
  SECTION("v1") { expect_error([] { parse(gguf_head(1, 0, 0).b); }, "v1 is obsolete"); }
  SECTION("v4") { expect_error([] { parse(gguf_head(4, 0, 0).b); }, "unsupported GGUF version 4"); }
  SECTION("big-endian") { expect_error([] { parse(gguf_head(0x03000000, 0, 0).b); }, "big-endian"); }
  SECTION("bad magic") { expect_error([] { parse({'G', 'G', 'U', 'X', 3, 0, 0, 0}); }, "bad magic"); }
  SECTION("empty") { expect_error([] { parse({}); }, "not a GGUF file"); }
  SECTION("absurd counts do not allocate") {
    expect_error([] { parse(gguf_head(3, 0, uint64_t(1) << 60).b); }, "metadata count");
    expect_error([] { parse(gguf_head(3, uint64_t(1) << 60, 0).b); }, "tensor count");
  }
  SECTION("absurd array length") {
    Bytes b = gguf_head(3, 0, 1);
    b.str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(uint64_t(1) << 61);
    expect_error([&] { parse(b.b); }, "k: truncated or corrupt: array of");
  }
  SECTION("absurd string length") {
    Bytes b = gguf_head(3, 0, 1);
    b.str("k").put<uint32_t>(8).put<uint64_t>(UINT64_MAX);
    expect_error([&] { parse(b.b); }, "k: truncated");
  }
  SECTION("unknown value type") {
    Bytes b = gguf_head(3, 0, 1);
    b.str("k").put<uint32_t>(13);
    expect_error([&] { parse(b.b); }, "unknown metadata value type 13");
  }
  SECTION("bad bool") {
    Bytes b = gguf_head(3, 0, 1);
    b.str("k").put<uint32_t>(7).put<uint8_t>(2);
    expect_error([&] { parse(b.b); }, "0 or 1");
  }
  SECTION("duplicate key") {
    Bytes b = gguf_head(3, 0, 2);
    b.str("k").put<uint32_t>(0).put<uint8_t>(1).str("k").put<uint32_t>(0).put<uint8_t>(1);
    expect_error([&] { parse(b.b); }, "duplicate metadata key");
  }
  SECTION("deeply nested arrays") {
    Bytes b = gguf_head(3, 0, 1);
    b.str("k").put<uint32_t>(9);
    for (int i = 0; i < 20; ++i) b.put<uint32_t>(9).put<uint64_t>(1);
    b.put<uint32_t>(0).put<uint64_t>(0);
    expect_error([&] { parse(b.b); }, "nested deeper");
  }
  SECTION("bad alignment") {
    Bytes b = gguf_head(3, 0, 1);
    b.str("general.alignment").put<uint32_t>(4).put<uint32_t>(24);
    expect_error([&] { parse(b.b); }, "general.alignment: alignment 24");
  }
  auto one_tensor = [](uint32_t n_dims, std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data) {
    Bytes b = gguf_head(3, 1, 0);
    b.str("w").put<uint32_t>(n_dims);
    for (uint64_t d : dims) b.put<uint64_t>(d);
    b.put<uint32_t>(type).put<uint64_t>(offset);
    b.pad(32);
    b.b.resize(b.b.size() + data);
    return b.b;
  };
  SECTION("too many dims") { expect_error([&] { parse(one_tensor(5, {1, 1, 1, 1, 1}, 0, 0, 4)); }, "n_dims 5"); }
  SECTION("unknown ggml type names tensor and id") {
    expect_error([&] { parse(one_tensor(1, {32}, 77, 0, 4)); }, "w: unsupported ggml tensor type id 77");
  }
  SECTION("block multiple") { expect_error([&] { parse(one_tensor(1, {33}, 8, 0, 64)); }, "block size 32"); }
  SECTION("dims overflow") {
    expect_error([&] { parse(one_tensor(3, {uint64_t(1) << 40, uint64_t(1) << 40, 1}, 0, 0, 4)); }, "overflows");
  }
  SECTION("element count overflow hidden by a zero dim") {
    expect_error([&] { parse(one_tensor(3, {0, uint64_t(1) << 40, uint64_t(1) << 40}, 0, 0, 4)); }, "element count");
  }
  SECTION("data past end") { expect_error([&] { parse(one_tensor(1, {8}, 0, 0, 16)); }, "runs past the data section"); }
  SECTION("unaligned offset") { expect_error([&] { parse(one_tensor(1, {1}, 0, 4, 64)); }, "not a multiple of the alignment"); }
  SECTION("huge offset") {
    expect_error([&] { parse(one_tensor(1, {1}, 0, UINT64_MAX - 31, 64)); }, "runs past the data section");
  }
  SECTION("overlap") {
    Bytes b = gguf_head(3, 2, 0);
    b.str("a").put<uint32_t>(1).put<uint64_t>(16).put<uint32_t>(0).put<uint64_t>(0);
    b.str("b").put<uint32_t>(1).put<uint64_t>(16).put<uint32_t>(0).put<uint64_t>(32);
    b.pad(32);
    b.b.resize(b.b.size() + 128);
    expect_error([&] { parse(b.b); }, "overlaps");
  }
  SECTION("duplicate tensor") {
    Bytes b = gguf_head(3, 2, 0);
    b.str("a").put<uint32_t>(1).put<uint64_t>(1).put<uint32_t>(0).put<uint64_t>(0);
    b.str("a").put<uint32_t>(1).put<uint64_t>(1).put<uint32_t>(0).put<uint64_t>(32);
    expect_error([&] { parse(b.b); }, "duplicate tensor name");
  }
}

TEST_CASE("gguf/safetensors: the committed fuzz seeds are valid files", "[gguf][safetensors]") {
  namespace fs = std::filesystem;
  const fs::path seeds = fs::path(unicorn::test::test_data("")) / ".." / "fuzz" / "seeds";
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(seeds / "fuzz_gguf")) {
    INFO(e.path());
    GgufReader r(e.path().string());
    ++n;
    if (e.path().filename() == "v3.gguf") {
      CHECK(r.metadata().get("tokenizer.ggml.tokens").as_array().items.size() == 3);
      CHECK(r.metadata().get("nested").as_array().items[0].as_array().items[1].as_int() == -1);
      CHECK(r.find("a")->shape == std::vector<int64_t>{2, 4});
      CHECK(r.find("q")->dtype == DType::Q8_0);
    }
  }
  for (const auto& e : fs::directory_iterator(seeds / "fuzz_safetensors")) {
    INFO(e.path());
    SafetensorsReader r(e.path().string());
    ++n;
  }
  CHECK(n >= 5);
}
