// Whole-model equivalence with llama-quantize: for synthetic Llama models whose F32 weights are a fixed function of
// (tensor name, element index), the recipe must pick the type llama-quantize picked for every tensor, and
// quantize_tensor must produce the same bytes (compared by FNV-1a 64). The expected table is
// tests/data/quant/llama_quantize_manifest.txt; its README says how it was made.
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/thread_pool.h"
#include "quant/quant.h"
#include "quant/recipe.h"
#include "tests/test_util.h"

using unicorn::DType;
namespace q = unicorn::quant;

namespace {

struct Entry {
  std::string model, mix, name;
  int n_dims = 0;
  int64_t rows = 0, cols = 0;
  std::string type;
  uint64_t hash = 0;
};

uint32_t fnv1a32(const std::string& s) {
  uint32_t h = 0x811C9DC5u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x01000193u;
  }
  return h;
}

uint64_t fnv1a64(const uint8_t* p, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

// The synthetic weights: a murmur-style mix of the index, seeded by the tensor name, mapped to [-0.05, 0.05);
// 1-D tensors (norms) are 1 + that.
std::vector<float> synth_weights(const std::string& name, int64_t n, bool one_d) {
  const uint32_t seed = fnv1a32(name);
  std::vector<float> w(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    uint32_t h = uint32_t(uint64_t(i) * 0x9E3779B1ull + seed);
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    const float u = float(h >> 8) * (1.0f / 16777216.0f);
    float v = (u - 0.5f) * 0.1f;
    if (one_d) v = v + 1.0f;
    w[size_t(i)] = v;
  }
  return w;
}

std::vector<Entry> load_manifest() {
  std::ifstream in(unicorn::test::test_data("quant/llama_quantize_manifest.txt"));
  std::vector<Entry> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Entry e;
    std::string hash;
    ls >> e.model >> e.mix >> e.name >> e.n_dims >> e.rows >> e.cols >> e.type >> hash;
    e.hash = std::stoull(hash, nullptr, 16);
    out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("recipes and quantizers reproduce llama-quantize on whole synthetic models", "[quant][recipe][llama]") {
  const std::vector<Entry> entries = load_manifest();
  REQUIRE(entries.size() > 100);
  // Group by (model, mix), keeping file order.
  std::map<std::string, std::vector<Entry>> groups;
  for (const Entry& e : entries) groups[e.model + " " + e.mix].push_back(e);
  REQUIRE(groups.size() == 10);  // 2 models x 5 mixes

  unicorn::ThreadPool pool(2);
  for (const auto& [key, tensors] : groups) {
    INFO(key);
    const q::QuantMix mix = q::parse_quant_mix_or_throw(tensors.front().mix);
    bool has_output = false;
    int n_attn_v = 0, n_layers = 0;
    for (const Entry& e : tensors) {
      has_output |= e.name == "output.weight";
      if (q::tensor_kind_from_gguf_name(e.name, e.n_dims) == q::TensorKind::attn_v) ++n_attn_v;
      n_layers = std::max(n_layers, q::layer_from_gguf_name(e.name) + 1);
    }
    int i_attn_v = 0;
    for (const Entry& e : tensors) {
      INFO(e.name);
      q::TensorRole role;
      role.kind = q::tensor_kind_from_gguf_name(e.name, e.n_dims);
      role.rows = e.rows;
      role.cols = e.cols;
      role.tied_output = !has_output;
      if (role.kind == q::TensorKind::attn_v) {
        role.layer = i_attn_v++;
        role.n_layers = n_attn_v;
      } else {
        role.layer = q::layer_from_gguf_name(e.name);
        role.n_layers = n_layers;
      }
      const DType t = q::choose_tensor_type(mix, role);
      CHECK(std::string(unicorn::dtype_name(t)) == e.type);
      if (std::string(unicorn::dtype_name(t)) != e.type) continue;

      const std::vector<float> w = synth_weights(e.name, e.rows * e.cols, e.n_dims == 1);
      std::vector<uint8_t> bytes(unicorn::dtype_row_bytes(t, uint64_t(e.cols)) * uint64_t(e.rows));
      q::quantize_tensor(t, w.data(), e.rows, e.cols, bytes.data(), e.name, &pool);
      CHECK(fnv1a64(bytes.data(), bytes.size()) == e.hash);
    }
  }
}
