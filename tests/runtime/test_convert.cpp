// Conversion layer + quantize job: files we write (GGUF with llama.cpp's naming/permutation/norm conventions, and
// .ucn of either flavour) must load and give the HF reference logits; tokenizer and role facts as llama.cpp has them.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "formats/gguf.h"
#include "formats/model_source.h"
#include "formats/ucn.h"
#include "runtime/convert.h"
#include "runtime/model.h"
#include "runtime/quantize_job.h"
#include "runtime/tokenizer.h"
#include "tests/test_util.h"

using unicorn::test::read_f32;
using unicorn::test::rel_l2;
using unicorn::test::gunzip;

using namespace unicorn;
using json = nlohmann::json;

namespace {

json read_json(const std::string& path) {
  std::ifstream f(path);
  REQUIRE(f.good());
  return json::parse(f);
}



// Logits of the fixture's prompt from MODEL_PATH vs the HF reference of fixture NAME.
double fixture_error(const std::string& fixture_dir, const std::string& model_path) {
  const json ref = read_json(fixture_dir + "/ref.json");
  const std::vector<float> want = read_f32(fixture_dir + "/logits.f32");
  ModelOptions mo;
  mo.threads = 2;
  auto model = Model::load(model_path, mo);
  const auto prompt = ref["prompt_ids"].get<std::vector<int32_t>>();
  std::vector<float> got(prompt.size() * static_cast<size_t>(model->info().vocab_size));
  model->forward(prompt, 0, got.data(), true);
  return rel_l2(got, want);
}

QuantizeJobResult convert(const std::string& in, const std::string& out, std::optional<quant::QuantMix> mix,
                          PackDType dt = PackDType::Keep, bool zstd = false) {
  QuantizeJobOptions o;
  o.input = in;
  o.output = out;
  o.mix = mix;
  o.pack_dtype = dt;
  o.zstd = zstd;
  o.threads = 2;
  o.measure_errors = true;
  return run_quantize_job(o);
}

}  // namespace

TEST_CASE("convert: llama q/k rope permutation interleaves the halves of each head", "[convert]") {
  // 2 heads x 4 rows, 1 column: rows (j * half + i) of a head move to (i * 2 + j).
  std::vector<float> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  TensorView src{"q", DType::F32, {8, 1}, reinterpret_cast<const uint8_t*>(rows.data()), 32};
  PlannedTensor p;
  p.name = "blk.0.attn_q.weight";
  p.source = &src;
  p.shape = {8, 1};
  p.transform = ValueTransform::RopePermute;
  p.permute_heads = 2;
  std::vector<float> out;
  planned_tensor_f32(p, out, nullptr);
  CHECK(out == std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7});
  p.permute_heads = 3;  // 8 rows do not split into 3 heads
  CHECK_THROWS_AS(planned_tensor_f32(p, out, nullptr), Error);
  p.transform = ValueTransform::AddOne;
  planned_tensor_f32(p, out, nullptr);
  CHECK(out[7] == 8.0f);
}

TEST_CASE("convert: HF and GGUF names get the same quantization roles", "[convert]") {
  CHECK(gguf_style_name("model.layers.3.self_attn.v_proj.weight") == "blk.3.attn_v.weight");
  CHECK(gguf_style_name("model.language_model.layers.0.mlp.down_proj.weight") == "blk.0.ffn_down.weight");
  CHECK(gguf_style_name("model.embed_tokens.weight") == "token_embd.weight");
  CHECK(gguf_style_name("lm_head.weight") == "output.weight");
  CHECK(tensor_kind_for_name("model.layers.3.self_attn.v_proj.weight", 2) == quant::TensorKind::attn_v);
  CHECK(tensor_kind_for_name("blk.3.attn_v.weight", 2) == quant::TensorKind::attn_v);
  CHECK(tensor_kind_for_name("model.layers.0.input_layernorm.weight", 1) == quant::TensorKind::norm);
  CHECK(tensor_kind_for_name("model.layers.0.altup.prediction_coefs.weight", 2) == quant::TensorKind::keep);
  CHECK(output_format_for_path("x.gguf") == OutputFormat::Gguf);
  CHECK(output_format_for_path("x.ucn") == OutputFormat::Ucn);
  CHECK_THROWS_AS(output_format_for_path("x.bin"), Error);
}

TEST_CASE("convert: HF -> GGUF and .ucn files we write reproduce the HF logits", "[convert]") {
  for (const std::string name : {"llama-tiny", "gemma3-tiny"}) {
    const std::string dir = test::shared_path("fixtures/hf/" + name);
    if (dir.empty()) UNICORN_SKIP("../shared/fixtures/hf/" << name << " is absent");
    const std::string tmp = test::temp_dir("convert-" + name);
    INFO(name);
    // GGUF: llama.cpp naming, q/k permuted (llama), norms stored as 1 + w (gemma3); F16 weights.
    const auto r = convert(dir, tmp + "/m.gguf", quant::QuantMix::F16);
    CHECK(r.format == "gguf");
    GgufReader g(tmp + "/m.gguf");
    CHECK(g.metadata().get_string("general.architecture") == (name == "llama-tiny" ? "llama" : "gemma3"));
    CHECK(g.metadata().get_int("general.file_type") == 1);
    CHECK(g.find("token_embd.weight") != nullptr);
    CHECK(g.find("blk.0.attn_q.weight")->dtype == DType::F16);
    CHECK(g.find("output_norm.weight")->dtype == DType::F32);
    const double e_gguf = fixture_error(dir, tmp + "/m.gguf");
    WARN(name << " GGUF f16 rel L2 = " << e_gguf);
    CHECK(e_gguf < 5e-3);
    // .ucn, HF flavour, F32 kept exactly (no zstd) and BF16 + zstd.
    convert(dir, tmp + "/keep.ucn", std::nullopt);
    const double e_keep = fixture_error(dir, tmp + "/keep.ucn");
    WARN(name << " ucn keep rel L2 = " << e_keep);
    CHECK(e_keep < 1e-5);
    convert(dir, tmp + "/z.ucn", std::nullopt, PackDType::BF16, true);
    CHECK(UcnReader::open(tmp + "/z.ucn", true)->tensors().size() == open_model_source(dir)->tensors().size());
    const double e_z = fixture_error(dir, tmp + "/z.ucn");
    WARN(name << " ucn bf16+zstd rel L2 = " << e_z);
    CHECK(e_z < 4e-2);
    // Q8_0 .ucn from the GGUF flavour (GGUF in, .ucn out keeps GGUF names).
    const auto r2 = convert(tmp + "/m.gguf", tmp + "/g8.ucn", quant::QuantMix::Q8_0);
    CHECK(r2.source_flavour == "gguf");
    auto u = UcnReader::open(tmp + "/g8.ucn", true);
    CHECK(u->find("token_embd.weight") != nullptr);
    CHECK(u->metadata().get_int("general.file_type") == 7);
    const double e_q8 = fixture_error(dir, tmp + "/g8.ucn");
    WARN(name << " gguf->ucn q8_0 rel L2 = " << e_q8);
    // Q8_0 weights; the Gemma fixture amplifies weight noise about 5x more than the Llama one (cf. the F16 errors).
    CHECK(e_q8 < (name == "llama-tiny" ? 3e-2 : 1.5e-1));
    for (const TensorResult& t : r2.tensors) {
      CHECK(t.measured);
      if (t.dtype == DType::Q8_0) CHECK(t.rmse > 0);
    }
    std::filesystem::remove_all(tmp);
  }
}

TEST_CASE("convert: shakespeare-llama tokenizer.json becomes llama.cpp's gpt2 vocabulary", "[convert]") {
  const std::string dir = test::shared_path("models/shakespeare-llama");
  if (dir.empty()) UNICORN_SKIP("../shared/models/shakespeare-llama is absent");
  auto src = open_model_source(dir);
  const ConversionPlan plan = plan_conversion(*src, OutputFormat::Gguf);
  const Metadata& m = plan.metadata;
  CHECK(m.get_string("tokenizer.ggml.model") == "gpt2");
  CHECK(m.get_string("tokenizer.ggml.pre") == "gpt-2");
  const MetaArray& toks = m.get("tokenizer.ggml.tokens").as_array();
  REQUIRE(toks.items.size() == 2048);
  CHECK(toks.items[0].as_string() == "<pad>");
  CHECK(toks.items[2].as_string() == "<bos>");
  CHECK(m.get("tokenizer.ggml.token_type").as_array().items[1].as_int() == 3);  // special -> control
  CHECK(m.get("tokenizer.ggml.token_type").as_array().items[100].as_int() == 1);
  const json tj = json::parse(read_text_file(dir + "/tokenizer.json"));
  const MetaArray& merges = m.get("tokenizer.ggml.merges").as_array();
  REQUIRE(merges.items.size() == tj["model"]["merges"].size());
  CHECK(merges.items[0].as_string() == "\xC4\xA0 t");  // ["Ġ", "t"] -> "Ġ t"
  CHECK(m.get_int("tokenizer.ggml.bos_token_id") == 2);
  CHECK(m.get_int("tokenizer.ggml.eos_token_id") == 1);
  CHECK(m.get_int("tokenizer.ggml.padding_token_id") == 0);
  CHECK(m.get_int("tokenizer.ggml.unknown_token_id") == 3);
  CHECK(m.get("tokenizer.ggml.add_bos_token").as_bool());
  CHECK(m.get_int("llama.vocab_size") == 2048);
  // Tied embeddings: no output tensor, token_embd is quantized like the LM head.
  bool found = false;
  for (const PlannedTensor& t : plan.tensors) {
    CHECK(t.name != "output.weight");
    if (t.name == "token_embd.weight") {
      found = true;
      CHECK(t.role.tied_output);
      CHECK(quant::choose_tensor_type(quant::QuantMix::Q4_K_M, t.role) == DType::Q6_K);
    }
  }
  CHECK(found);
}

TEST_CASE("convert: gemma3n cannot go to GGUF yet, but packs to .ucn", "[convert]") {
  const std::string dir = test::shared_path("fixtures/hf/gemma3n-tiny");
  if (dir.empty()) UNICORN_SKIP("../shared/fixtures/hf/gemma3n-tiny is absent");
  auto src = open_model_source(dir);
  CHECK_THROWS_AS(plan_conversion(*src, OutputFormat::Gguf), Error);
  const std::string tmp = test::temp_dir("convert-g3n");
  convert(dir, tmp + "/m.ucn", std::nullopt);
  const double e = fixture_error(dir, tmp + "/m.ucn");
  WARN("gemma3n ucn keep rel L2 = " << e);
  CHECK(e < 1e-5);
  std::filesystem::remove_all(tmp);
}

namespace {


}  // namespace

TEST_CASE("convert: gemma3 tokenizer.json becomes an SPM ('llama') GGUF vocabulary that tokenizes like HF", "[convert]") {
  const std::string json_gz = test::shared_path("vocab/gemma3-tokenizer.json.gz");
  if (json_gz.empty()) UNICORN_SKIP("../shared/vocab/gemma3-tokenizer.json.gz is absent");
  const std::string stem = json_gz.substr(0, json_gz.size() - 3);
  const std::string cfg_gz = test::shared_path("vocab/gemma3-tokenizer_config.json.gz");
  Metadata md;
  std::vector<std::string> notes;
  add_gguf_tokenizer_from_hf(md, gunzip(json_gz), cfg_gz.empty() ? "" : gunzip(cfg_gz), "", 0, "gemma3", &notes);
  CHECK(md.get_string("tokenizer.ggml.model") == "llama");
  CHECK_FALSE(md.get("tokenizer.ggml.add_space_prefix").as_bool());
  const MetaArray& types = md.get("tokenizer.ggml.token_type").as_array();
  const MetaArray& toks = md.get("tokenizer.ggml.tokens").as_array();
  REQUIRE(toks.items.size() == types.items.size());
  size_t bytes = 0;
  for (size_t i = 0; i < toks.items.size(); ++i) {
    if (types.items[i].as_int() == 6) {
      ++bytes;
      CHECK(toks.items[i].as_string().rfind("<0x", 0) == 0);
    }
  }
  CHECK(bytes == 256);
  CHECK(md.get_int("tokenizer.ggml.bos_token_id") == 2);
  CHECK(md.get_int("tokenizer.ggml.eos_token_id") == 106);  // tokenizer_config.json: eos_token = <end_of_turn>
  // The runtime's GGUF (llama.cpp-style SPM) tokenizer over these keys must give HF's ids for llama.cpp's test texts.
  md.set("general.architecture", MetaValue::str("gemma3"));
  const auto tok = Tokenizer::from_metadata(md);
  std::ifstream inp_f(stem + ".inp"), out_f(stem + ".out");
  REQUIRE(inp_f.good());
  REQUIRE(out_f.good());
  std::stringstream inp_ss;
  inp_ss << inp_f.rdbuf();
  const std::string inp = inp_ss.str(), sep = "\n__ggml_vocab_test__\n";
  size_t pos = 0, total = 0, pass = 0;
  std::string line;
  for (;;) {
    const size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) break;
    const std::string text = inp.substr(pos, hit - pos);
    pos = hit + sep.size();
    REQUIRE(std::getline(out_f, line));
    std::istringstream ls(line);
    std::vector<int32_t> want;
    int32_t id;
    while (ls >> id) want.push_back(id);
    const auto got = tok->encode(text, false, true);
    ++total;
    if (got == want) ++pass;
    else WARN("mismatch for text: " << text);
  }
  CHECK(total > 40);
  CHECK(pass == total);
}
