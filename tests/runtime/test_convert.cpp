// Conversion layer + quantize job: files we write (GGUF with llama.cpp's naming/permutation/norm conventions, and
// .ucn of either flavour) must load and give the HF reference logits; tokenizer and role facts as llama.cpp has them.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
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

TEST_CASE("convert: gemma3n HF -> GGUF (llama.cpp names, stacked AltUp, padded tables) and .ucn give HF's logits",
          "[convert]") {
  const std::string dir = test::shared_path("fixtures/hf/gemma3n-tiny");
  if (dir.empty()) UNICORN_SKIP("../shared/fixtures/hf/gemma3n-tiny is absent");
  const json cfg = read_json(dir + "/config.json");
  const int64_t H = cfg["hidden_size"], P = cfg["hidden_size_per_layer_input"], L = cfg["num_hidden_layers"];
  const int64_t N = cfg["altup_num_inputs"], V = cfg["vocab_size"];
  const std::string tmp = test::temp_dir("convert-g3n");
  convert(dir, tmp + "/m.ucn", std::nullopt);
  const double e = fixture_error(dir, tmp + "/m.ucn");
  WARN("gemma3n ucn keep rel L2 = " << e);
  CHECK(e < 1e-5);

  // F32 GGUF: the same numbers in llama.cpp's layout must give the reference logits to float rounding.
  const auto r = convert(dir, tmp + "/m.gguf", std::nullopt);
  CHECK(r.format == "gguf");
  {
    GgufReader g(tmp + "/m.gguf");
    const Metadata& m = g.metadata();
    CHECK(m.get_string("general.architecture") == "gemma3n");
    CHECK(m.get_int("gemma3n.embedding_length_per_layer_input") == P);
    CHECK(m.get_int("gemma3n.altup.num_inputs") == N);
    CHECK(m.get_int("gemma3n.altup.active_idx") == 0);
    CHECK(m.get_int("gemma3n.attention.shared_kv_layers") == cfg["num_kv_shared_layers"].get<int>());
    CHECK(m.get_int("gemma3n.attention.sliding_window") == cfg["sliding_window"].get<int>());
    const MetaArray& sp = m.get("gemma3n.activation_sparsity_scale").as_array();
    REQUIRE(static_cast<int64_t>(sp.items.size()) == L);
    CHECK(std::abs(sp.items[0].as_double() - 1.6448536) < 1e-5);  // normal quantile of 0.95
    CHECK(std::isinf(sp.items[L - 1].as_double()));               // 0.0 -> -inf: dense layer
    CHECK(m.get("gemma3n.attention.sliding_window_pattern").as_array().items.size() == static_cast<size_t>(L));
    const TensorView* ap = g.find("altup_proj.weight");
    REQUIRE(ap != nullptr);
    CHECK(ap->shape == std::vector<int64_t>{N - 1, H, H});
    CHECK(g.find("altup_unembd_proj.weight") != nullptr);
    CHECK(g.find("per_layer_token_embd.weight")->shape == std::vector<int64_t>{V, L * P});
    CHECK(g.find("blk.0.altup_correct_scale.weight") != nullptr);
    CHECK(g.find("blk.0.laurel_l.weight") != nullptr);
    CHECK(g.find("blk.0.inp_gate.weight") != nullptr);
    CHECK(g.find("blk.0.post_norm.weight") != nullptr);
    CHECK(g.find("output.weight") == nullptr);  // tied
    // Gemma 3n norms are stored as they are (no 1 + w shift as for gemma3): the first value equals HF's.
    auto hf = open_model_source(dir);
    const TensorView* hn = hf->find("model.layers.0.input_layernorm.weight");
    const TensorView* gn = g.find("blk.0.attn_norm.weight");
    REQUIRE(hn != nullptr);
    REQUIRE(gn != nullptr);
    float a = 0, b = 0;
    std::memcpy(&a, hn->data, 4);
    std::memcpy(&b, gn->data, 4);
    CHECK(a == b);
  }
  const double e_gguf = fixture_error(dir, tmp + "/m.gguf");
  WARN("gemma3n GGUF f32 rel L2 = " << e_gguf);
  CHECK(e_gguf < 1e-5);
  // F16 GGUF (llama.cpp's usual float type): looser, as for the other fixtures.
  convert(dir, tmp + "/f16.gguf", quant::QuantMix::F16);
  const double e_f16 = fixture_error(dir, tmp + "/f16.gguf");
  WARN("gemma3n GGUF f16 rel L2 = " << e_f16);
  CHECK(e_f16 < 5e-3);
  // Q4_K_M GGUF loads and runs (error reported, not bounded tightly: 4-bit random weights).
  convert(dir, tmp + "/q4.gguf", quant::QuantMix::Q4_K_M);
  const double e_q4 = fixture_error(dir, tmp + "/q4.gguf");
  WARN("gemma3n GGUF q4_k_m rel L2 = " << e_q4);
  CHECK(e_q4 < 0.5);
  std::filesystem::remove_all(tmp);
}

TEST_CASE("convert: stacked and zero-padded planned tensors", "[convert]") {
  std::vector<float> a = {1, 2}, b = {3, 4};
  TensorView ta{"a", DType::F32, {1, 2}, reinterpret_cast<const uint8_t*>(a.data()), 8};
  TensorView tb{"b", DType::F32, {1, 2}, reinterpret_cast<const uint8_t*>(b.data()), 8};
  PlannedTensor p;
  p.name = "s";
  p.source = &ta;
  p.stack_rest = {&tb};
  p.shape = {2, 1, 2};
  std::vector<float> out;
  planned_tensor_f32(p, out, nullptr);
  CHECK(out == std::vector<float>{1, 2, 3, 4});
  CHECK_FALSE(p.is_identity());
  p.shape = {3, 1, 2};  // more rows than the sources: an error unless padding was asked for
  CHECK_THROWS_AS(planned_tensor_f32(p, out, nullptr), Error);
  p.zero_pad_rows = true;
  planned_tensor_f32(p, out, nullptr);
  CHECK(out == std::vector<float>{1, 2, 3, 4, 0, 0});
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

TEST_CASE("convert: a HF tokenizer.model (no tokenizer.json) is carried into GGUF and .ucn", "[convert]") {
  const std::string fixture = test::shared_path("fixtures/hf/llama-tiny");
  if (fixture.empty()) UNICORN_SKIP("../shared/fixtures/hf/llama-tiny is absent");
  const std::string tmp = test::temp_dir("convert-spm");
  const std::string dir = tmp + "/hf";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(fixture + "/config.json", dir + "/config.json");
  std::filesystem::create_symlink(fixture + "/model.safetensors", dir + "/model.safetensors");
  // A small SentencePiece vocabulary: <unk> <s> </s>, the 256 byte pieces, then a few words (fewer than 384 rows).
  SpmModel spm;
  spm.model_type = SpmModel::kBpe;
  spm.byte_fallback = true;
  spm.pieces = {{"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}};
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) spm.pieces.push_back({std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">", 0, 6});
  float score = -1;
  for (const char* w : {"\xE2\x96\x81h", "el", "lo", "\xE2\x96\x81he", "llo", "\xE2\x96\x81hello", "\xE2\x96\x81w", "or"})
    spm.pieces.push_back({w, score--, 1});
  SentencePieceWriter::write(spm, dir + "/tokenizer.model");
  const auto ref_tok = Tokenizer::load(dir);
  const std::vector<int32_t> want = ref_tok->encode("hello world", false);
  CHECK(want.front() == 259);  // "▁h": the best-scoring merge; the word pieces, not 11 byte tokens
  CHECK(want.size() <= 7);
  CHECK(ref_tok->decode(want) == "hello world");
  // The model directory itself tokenizes through tokenizer.model.
  CHECK(Tokenizer::from_metadata(open_model_source(dir)->metadata())->encode("hello world", false) == want);

  convert(dir, tmp + "/m.gguf", quant::QuantMix::F16);
  {
    GgufReader g(tmp + "/m.gguf");
    CHECK(g.metadata().get_string("tokenizer.ggml.model") == "llama");
    CHECK(g.metadata().get("tokenizer.ggml.tokens").as_array().items.size() == 384);  // padded to the embedding rows
    CHECK(g.metadata().get_int("tokenizer.ggml.bos_token_id") == 1);
    CHECK(g.metadata().get("tokenizer.ggml.add_space_prefix").as_bool());
    CHECK(Tokenizer::from_metadata(g.metadata())->encode("hello world", false) == want);
  }
  convert(dir, tmp + "/m.ucn", std::nullopt);
  {
    auto u = UcnReader::open(tmp + "/m.ucn", true);
    CHECK_FALSE(u->metadata().has("hf.tokenizer_model_path"));  // the vocabulary travels, not a local path
    CHECK(Tokenizer::from_metadata(u->metadata())->encode("hello world", false) == want);
  }
  // A corrupt tokenizer.model stops the conversion with the file named, and writes nothing.
  {
    std::ofstream f(dir + "/tokenizer.model", std::ios::binary | std::ios::trunc);
    f << "\x0a\x40short";
  }
  CHECK_THROWS_WITH(convert(dir, tmp + "/bad.gguf", quant::QuantMix::F16), Catch::Contains("tokenizer.model"));
  CHECK_FALSE(std::filesystem::exists(tmp + "/bad.gguf"));
  std::filesystem::remove_all(tmp);
}
