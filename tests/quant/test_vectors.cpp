// Bit-exactness against llama.cpp: quantize_row must produce the same block bytes, and dequantize_row the same
// floats, as llama.cpp's ggml-base for the vectors in tests/data/quant (see its README.md for how they were made).
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "quant/quant.h"
#include "tests/test_util.h"

namespace {

struct Vector {
  std::string name;
  uint32_t rows = 0, cols = 0;
  std::vector<float> input;
  std::vector<float> importance;  // empty: quantized without an importance matrix
  std::vector<uint8_t> blocks;
  std::vector<float> dequantized;
};

struct VectorFile {
  unicorn::DType type;
  std::vector<Vector> vectors;
};

// Format (little-endian): "UQV1", u32 ggml type, u32 count, then per vector: u32 name length, name, u32 rows,
// u32 cols, u32 has_importance, f32 input[rows*cols], f32 importance[cols] if present, u32 nbytes, blocks,
// f32 dequantized[rows*cols].
VectorFile load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw unicorn::Error("cannot open " + path);
  auto u32 = [&] {
    uint32_t v = 0;
    in.read(reinterpret_cast<char*>(&v), 4);
    if (!in) throw unicorn::Error("truncated " + path);
    return v;
  };
  auto floats = [&](size_t n) {
    std::vector<float> v(n);
    in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * 4));
    if (!in) throw unicorn::Error("truncated " + path);
    return v;
  };
  char magic[4];
  in.read(magic, 4);
  if (!in || std::memcmp(magic, "UQV1", 4) != 0) throw unicorn::Error("bad magic in " + path);
  VectorFile f;
  f.type = static_cast<unicorn::DType>(u32());
  const uint32_t count = u32();
  for (uint32_t i = 0; i < count; ++i) {
    Vector v;
    v.name.resize(u32());
    in.read(v.name.data(), std::streamsize(v.name.size()));
    v.rows = u32();
    v.cols = u32();
    const bool has_importance = u32() != 0;
    v.input = floats(size_t(v.rows) * v.cols);
    if (has_importance) v.importance = floats(v.cols);
    v.blocks.resize(u32());
    in.read(reinterpret_cast<char*>(v.blocks.data()), std::streamsize(v.blocks.size()));
    v.dequantized = floats(size_t(v.rows) * v.cols);
    f.vectors.push_back(std::move(v));
  }
  return f;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

void check_file(const std::string& file, unicorn::DType expected_type) {
  const VectorFile vf = load(unicorn::test::test_data("quant/" + file));
  REQUIRE(vf.type == expected_type);
  REQUIRE(vf.vectors.size() >= 10);
  const unicorn::DType t = vf.type;
  for (const Vector& v : vf.vectors) {
    INFO(unicorn::dtype_name(t) << " vector " << v.name);
    const uint64_t row_bytes = unicorn::dtype_row_bytes(t, v.cols);
    REQUIRE(v.blocks.size() == row_bytes * v.rows);

    std::vector<uint8_t> ours(v.blocks.size(), 0xAA);
    const float* imp = v.importance.empty() ? nullptr : v.importance.data();
    for (uint32_t r = 0; r < v.rows; ++r) {
      unicorn::quant::quantize_row(t, v.input.data() + size_t(r) * v.cols, ours.data() + r * row_bytes, v.cols, imp);
    }
    size_t first_diff = ours.size();
    for (size_t i = 0; i < ours.size(); ++i) {
      if (ours[i] != v.blocks[i]) {
        first_diff = i;
        break;
      }
    }
    INFO("first differing byte " << first_diff << " of " << ours.size());
    CHECK(first_diff == ours.size());

    // The threaded tensor path gives the same bytes.
    std::vector<uint8_t> tensor(v.blocks.size(), 0x55);
    unicorn::quant::quantize_tensor(t, v.input.data(), v.rows, v.cols, tensor.data(), "t", nullptr, imp);
    CHECK(tensor == v.blocks);

    std::vector<float> deq(v.dequantized.size());
    unicorn::quant::dequantize_row(t, v.blocks.data(), deq.data(), int64_t(deq.size()));
    CHECK(same_bits(deq, v.dequantized));
  }
}

}  // namespace

TEST_CASE("quant vectors: Q4_0 matches llama.cpp", "[quant][vectors]") { check_file("q4_0.vec", unicorn::DType::Q4_0); }
TEST_CASE("quant vectors: Q8_0 matches llama.cpp", "[quant][vectors]") { check_file("q8_0.vec", unicorn::DType::Q8_0); }
TEST_CASE("quant vectors: Q4_K matches llama.cpp", "[quant][vectors]") { check_file("q4_k.vec", unicorn::DType::Q4_K); }
TEST_CASE("quant vectors: Q5_K matches llama.cpp", "[quant][vectors]") { check_file("q5_k.vec", unicorn::DType::Q5_K); }
TEST_CASE("quant vectors: Q6_K matches llama.cpp", "[quant][vectors]") { check_file("q6_k.vec", unicorn::DType::Q6_K); }
TEST_CASE("quant vectors: F16 matches llama.cpp", "[quant][vectors]") { check_file("f16.vec", unicorn::DType::F16); }
TEST_CASE("quant vectors: BF16 matches llama.cpp", "[quant][vectors]") { check_file("bf16.vec", unicorn::DType::BF16); }
