// .ucn container: round trips (plain and zstd), and that every kind of damage is caught as a clean Error.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/error.h"
#include "base/half.h"
#include "base/mapped_file.h"
#include "formats/ucn.h"
#include "tests/test_util.h"

using namespace unicorn;

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Metadata sample_metadata() {
  Metadata m;
  m.set("general.architecture", MetaValue::str("llama"));
  m.set("llama.block_count", MetaValue::u32(2));
  m.set("some.i32", MetaValue::i32(-7));
  m.set("some.u64", MetaValue::u64(1ull << 40));
  m.set("some.f32", MetaValue::f32(1e-5f));
  m.set("some.f64", {MetaType::F64, 3.25});
  m.set("some.bool", MetaValue::boolean(true));
  m.set("some.i8", {MetaType::I8, int64_t{-3}});
  m.set("some.u16", {MetaType::U16, uint64_t{65535}});
  m.set("tokens", MetaValue::array(MetaType::STRING, {MetaValue::str("<s>"), MetaValue::str("a b"), MetaValue::str("")}));
  m.set("empty", MetaValue::array(MetaType::F32, {}));
  m.set("nested", MetaValue::array(MetaType::ARRAY, {MetaValue::array(MetaType::I32, {MetaValue::i32(1), MetaValue::i32(2)}),
                                                     MetaValue::array(MetaType::I32, {})}));
  return m;
}

struct Sample {
  std::vector<float> a;       // [3, 5] f32
  std::vector<uint16_t> b;    // [64] f16 (compressible)
  std::vector<uint8_t> q;     // [2, 32] q8_0
};

Sample make_sample() {
  Sample s;
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (int i = 0; i < 15; ++i) s.a.push_back(nd(rng));
  for (int i = 0; i < 4096; ++i) s.b.push_back(f32_to_f16(float(i % 7)));
  s.q.resize(2 * 34);
  for (auto& x : s.q) x = static_cast<uint8_t>(rng());
  return s;
}

void write_sample(const std::string& path, const Sample& s, bool zstd) {
  UcnWriter::Options opt;
  opt.zstd = zstd;
  opt.threads = 1;
  UcnWriter w(path, opt);
  w.set_metadata(sample_metadata());
  w.add_tensor(TensorView{"a", DType::F32, {3, 5}, reinterpret_cast<const uint8_t*>(s.a.data()), 15 * 4});
  w.add_tensor("blk.0.b", DType::F16, {4096}, [&](uint8_t* out, uint64_t n) {
    REQUIRE(n == s.b.size() * 2);
    std::memcpy(out, s.b.data(), n);
  });
  w.add_tensor(TensorView{"q", DType::Q8_0, {2, 32}, s.q.data(), s.q.size()});
  w.add_tensor(TensorView{"scalar", DType::F32, {}, reinterpret_cast<const uint8_t*>(s.a.data()), 4});
  w.finish();
}

void check_sample(const UcnReader& r, const Sample& s) {
  const Metadata ref = sample_metadata();
  REQUIRE(r.metadata().size() == ref.size() + 1);  // + unicorn.source_format
  CHECK(r.metadata().get_string("unicorn.source_format") == "ucn");
  CHECK(r.metadata().get_string("general.architecture") == "llama");
  CHECK(r.metadata().get("llama.block_count").type == MetaType::U32);
  CHECK(r.metadata().get_int("llama.block_count") == 2);
  CHECK(r.metadata().get_int("some.i32") == -7);
  CHECK(r.metadata().get_int("some.u64") == int64_t(1ull << 40));
  CHECK(r.metadata().get_double("some.f32") == Approx(1e-5));
  CHECK(r.metadata().get_double("some.f64") == 3.25);
  CHECK(r.metadata().get("some.bool").as_bool());
  CHECK(r.metadata().get_int("some.i8") == -3);
  CHECK(r.metadata().get("some.i8").type == MetaType::I8);
  CHECK(r.metadata().get_int("some.u16") == 65535);
  const MetaArray& toks = r.metadata().get("tokens").as_array();
  REQUIRE(toks.items.size() == 3);
  CHECK(toks.elem_type == MetaType::STRING);
  CHECK(toks.items[1].as_string() == "a b");
  CHECK(r.metadata().get("empty").as_array().elem_type == MetaType::F32);
  CHECK(r.metadata().get("empty").as_array().items.empty());
  const MetaArray& nested = r.metadata().get("nested").as_array();
  REQUIRE(nested.items.size() == 2);
  CHECK(nested.items[0].as_array().items[1].as_int() == 2);

  REQUIRE(r.tensors().size() == 4);
  const TensorView& a = r.tensors()[0];
  CHECK(a.name == "a");
  CHECK(a.dtype == DType::F32);
  CHECK(a.shape == std::vector<int64_t>{3, 5});
  REQUIRE(a.nbytes == 60);
  CHECK(std::memcmp(a.data, s.a.data(), 60) == 0);
  const TensorView& b = r.tensors()[1];
  CHECK(b.dtype == DType::F16);
  REQUIRE(b.nbytes == s.b.size() * 2);
  CHECK(std::memcmp(b.data, s.b.data(), b.nbytes) == 0);
  const TensorView& q = r.tensors()[2];
  CHECK(q.dtype == DType::Q8_0);
  CHECK(std::memcmp(q.data, s.q.data(), s.q.size()) == 0);
  CHECK(r.tensors()[3].shape.empty());
  CHECK(r.tensors()[3].nbytes == 4);
  CHECK(r.verify_tensors().empty());
}

// The number of bytes covered by the header checksum: fixed header + metadata + directory.
uint64_t covered_prefix(const std::vector<uint8_t>& f) {
  uint64_t dir_off, dir_size;
  std::memcpy(&dir_off, f.data() + 48, 8);
  std::memcpy(&dir_size, f.data() + 56, 8);
  return dir_off + dir_size;
}

}  // namespace

TEST_CASE("ucn: round trip keeps metadata types, shapes and bytes; tensors are 4096-aligned views", "[ucn]") {
  const std::string dir = test::temp_dir("ucn-rt");
  const std::string path = dir + "/m.ucn";
  const Sample s = make_sample();
  write_sample(path, s, false);
  auto r = UcnReader::open(path, true);
  check_sample(*r, s);
  MappedFile mf(path);
  for (size_t i = 0; i < r->tensors().size(); ++i) {
    CHECK(r->tensor_infos()[i].compression == UcnCompression::None);
    // Uncompressed data is read in place, at 4096-aligned offsets within the file.
    const uint64_t off = static_cast<uint64_t>(r->tensors()[i].data - r->tensors()[0].data);
    CHECK(off % 4096 == 0);
  }
  CHECK(std::filesystem::file_size(path) == r->file_size());
  std::filesystem::remove_all(dir);
}

TEST_CASE("ucn: zstd round trip decompresses into owned memory", "[ucn]") {
  const std::string dir = test::temp_dir("ucn-zstd");
  const std::string path = dir + "/m.ucn";
  const Sample s = make_sample();
  write_sample(path, s, true);
  auto r = UcnReader::open(path, true);
  check_sample(*r, s);
  // The repetitive f16 tensor compresses; random q8_0 bytes do not and stay raw.
  CHECK(r->tensor_infos()[1].compression == UcnCompression::Zstd);
  CHECK(r->tensor_infos()[1].stored_size < r->tensor_infos()[1].raw_size);
  CHECK(r->tensor_infos()[2].compression == UcnCompression::None);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ucn: an empty model (no tensors, no metadata) round trips", "[ucn]") {
  const std::string dir = test::temp_dir("ucn-empty");
  const std::string path = dir + "/e.ucn";
  UcnWriter w(path);
  w.finish();
  auto r = UcnReader::open(path, true);
  CHECK(r->tensors().empty());
  CHECK(r->metadata().size() == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ucn: a bit flip anywhere in header, metadata, directory or padding is an Error", "[ucn]") {
  const std::string dir = test::temp_dir("ucn-flip");
  const std::string path = dir + "/m.ucn";
  write_sample(path, make_sample(), false);
  const std::vector<uint8_t> good = read_bytes(path);
  REQUIRE_NOTHROW(UcnReader::from_memory(good, "good", true));
  uint64_t data_off;
  std::memcpy(&data_off, good.data() + 64, 8);
  REQUIRE(data_off == 4096);
  int checked = 0;
  for (uint64_t i = 0; i < data_off; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      if (i >= covered_prefix(good) && bit != 0) continue;  // padding: one flip per byte is enough
      std::vector<uint8_t> bad = good;
      bad[i] ^= static_cast<uint8_t>(1u << bit);
      bool threw = false;
      try {
        UcnReader::from_memory(bad, "bad.ucn", false);
      } catch (const Error& e) {
        threw = true;
        CHECK(std::string(e.what()).find("bad.ucn") == 0);
      }
      if (!threw) FAIL("flip of bit " << bit << " at byte " << i << " was not detected");
      ++checked;
    }
  }
  CHECK(checked > 8 * 200);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ucn: tensor corruption is caught with verify, and reported by verify_tensors", "[ucn]") {
  const std::string dir = test::temp_dir("ucn-tcorrupt");
  const std::string path = dir + "/m.ucn";
  write_sample(path, make_sample(), false);
  std::vector<uint8_t> f = read_bytes(path);
  auto r0 = UcnReader::from_memory(f, "m.ucn", false);
  const uint64_t q_at = static_cast<uint64_t>(r0->tensors()[2].data - f.data());
  r0.reset();
  f[q_at + 5] ^= 0x10;
  write_bytes(path, f);
  // Without verification the damage is invisible (zero-copy open); with it, the tensor is named.
  auto r = UcnReader::open(path, false);
  const auto failures = r->verify_tensors();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].tensor == "q");
  try {
    UcnReader::open(path, true);
    FAIL("corruption not detected");
  } catch (const Error& e) {
    CHECK(e.context().tensor == "q");
    CHECK(e.context().field == "checksum");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("ucn: damaged zstd data is an Error", "[ucn]") {
  const std::string dir = test::temp_dir("ucn-zcorrupt");
  const std::string path = dir + "/m.ucn";
  write_sample(path, make_sample(), true);
  std::vector<uint8_t> f = read_bytes(path);
  auto r0 = UcnReader::from_memory(f, "m.ucn", false);
  const UcnTensorInfo info = r0->tensor_infos()[1];
  REQUIRE(info.compression == UcnCompression::Zstd);
  uint64_t data_off;
  std::memcpy(&data_off, f.data() + 64, 8);
  r0.reset();
  // Damage the middle of the frame: zstd's own frame checksum or our tensor checksum must catch it.
  f[data_off + info.data_offset + info.stored_size / 2] ^= 0xff;
  CHECK_THROWS_AS(UcnReader::from_memory(f, "m.ucn", true), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ucn: truncation at every offset of header+metadata+directory, and of the data, is a clean Error", "[ucn]") {
  const std::string dir = test::temp_dir("ucn-trunc");
  const std::string path = dir + "/m.ucn";
  write_sample(path, make_sample(), false);
  const std::vector<uint8_t> good = read_bytes(path);
  for (uint64_t n = 0; n < good.size(); n += (n < 4200 ? 1 : 509)) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS(UcnReader::from_memory(cut, "cut.ucn", false), Error);
  }
  // And from a real file on disk.
  std::vector<uint8_t> cut(good.begin(), good.begin() + 100);
  write_bytes(path, cut);
  CHECK_THROWS_AS(UcnReader::open(path, false), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ucn: writer rejects bad tensors and leaves no file", "[ucn]") {
  const std::string dir = test::temp_dir("ucn-wbad");
  const std::string path = dir + "/m.ucn";
  {
    UcnWriter w(path);
    CHECK_THROWS_AS(w.add_tensor("x", DType::Q4_K, {3, 100}, [](uint8_t*, uint64_t) {}), Error);  // not whole blocks
    w.add_tensor("y", DType::F32, {2}, [](uint8_t*, uint64_t) {});
    CHECK_THROWS_AS(w.add_tensor("y", DType::F32, {2}, [](uint8_t*, uint64_t) {}), Error);  // duplicate
    w.add_tensor("z", DType::F32, {2}, [](uint8_t*, uint64_t) { fail("producer failed"); });
    CHECK_THROWS_AS(w.finish(), Error);
  }
  CHECK(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

TEST_CASE("ucn: magic sniffing", "[ucn]") {
  std::vector<uint8_t> m(kUcnMagic, kUcnMagic + 8);
  CHECK(is_ucn_magic(m));
  m[3] = '2';
  CHECK_FALSE(is_ucn_magic(m));
  CHECK_FALSE(is_ucn_magic(std::vector<uint8_t>{'U', 'C'}));
}
