#pragma once
// Plans a model conversion: which tensors an output file (.ucn or .gguf) gets, under which names, with which value
// transforms, and its metadata. Knows model architectures (HF <-> GGUF naming, llama.cpp's conventions), nothing of
// quantization or file writing (runtime/quantize_job.h does those).
#include <cstdint>
#include <string>
#include <vector>

#include "formats/metadata.h"
#include "formats/model_source.h"
#include "formats/sentencepiece.h"
#include "formats/tensor.h"
#include "quant/recipe.h"

namespace unicorn {

class ThreadPool;

enum class OutputFormat { Ucn, Gguf };
// By extension (.ucn / .gguf); throws Error naming the path otherwise.
OutputFormat output_format_for_path(const std::string& path);

// The GGUF-style name used to classify a tensor for quantization: GGUF names unchanged, HF names
// (model.layers.N.self_attn.q_proj.weight, ...) mapped to their GGUF equivalents (blk.N.attn_q.weight, ...).
std::string gguf_style_name(const std::string& name);
// quant::TensorRole kind of a tensor under either naming scheme.
quant::TensorKind tensor_kind_for_name(const std::string& name, int n_dims);

// How the stored values of an output tensor derive from the source tensor's values.
enum class ValueTransform {
  None,
  RopePermute,  // llama.cpp's q/k row permutation for GGUF Llama (halves of each head interleaved)
  AddOne,       // Gemma 3 RMSNorm weights: GGUF stores 1 + w
};

struct PlannedTensor {
  std::string name;                 // output name
  const TensorView* source = nullptr;  // null for generated tensors (values in `generated`)
  std::vector<int64_t> shape;       // outermost-first
  ValueTransform transform = ValueTransform::None;
  int permute_heads = 0;            // RopePermute: number of heads the rows split into
  quant::TensorRole role;           // filled by plan_conversion (kind, layer, rows/cols, tied output, ...)
  std::vector<float> generated;     // e.g. llama3 rope_freqs
  // Further sources of the same shape as `source`, stacked after it along a new outer axis (gemma3n's altup_proj).
  std::vector<const TensorView*> stack_rest;
  bool zero_pad_rows = false;       // rows past the sources' values are zeros (gemma3n embeddings padded to vocab)
  int64_t rows() const;
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  int64_t elements() const;
  // True when the output can reuse the source bytes unchanged (no transform, same shape).
  bool is_identity() const {
    return source != nullptr && transform == ValueTransform::None && stack_rest.empty() && shape == source->shape;
  }
};

struct ConversionPlan {
  std::string arch;                  // llama | gemma3 | gemma3n | whatever the source says
  std::string source_flavour;        // "hf" | "gguf"
  OutputFormat format = OutputFormat::Ucn;
  Metadata metadata;                 // output metadata (general.file_type is filled in by the writer of the file)
  std::vector<PlannedTensor> tensors;
  std::vector<std::string> notes;    // dropped tensors and other facts worth printing
};

// Plans converting SRC to FORMAT. To .ucn the source's flavour is kept (HF names + hf.* keys, or GGUF names + keys);
// to .gguf an HF-flavoured source is renamed and its metadata/tokenizer rebuilt as llama.cpp's convert_hf_to_gguf.py
// does (llama, gemma3, gemma3n). Throws Error for unsupported architectures or tensors it cannot map.
ConversionPlan plan_conversion(const ModelSource& src, OutputFormat format);

// Float32 values of a planned tensor (source decoded from F32/F16/BF16/quantized types, then transformed);
// out is resized to elements(). Throws Error for non-float sources.
void planned_tensor_f32(const PlannedTensor& t, std::vector<float>& out, ThreadPool* pool);

// True when a source dtype can be decoded to float (and therefore requantized).
bool dtype_is_float_decodable(DType t);

// llama.cpp's GGUF tokenizer keys built from HF tokenizer.json (+ tokenizer_config.json, config.json) text;
// exposed for tests. vocab_size pads the token list with [PAD<i>] entries as llama.cpp does.
void add_gguf_tokenizer_from_hf(Metadata& out, const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                                const std::string& config_json, int vocab_size, const std::string& arch,
                                std::vector<std::string>* notes);

// The same keys from a SentencePiece tokenizer.model (formats/sentencepiece.h): tokenizer.ggml.model "llama"
// (llama.cpp's SentencePiece tokenizer, used for BPE and Unigram models alike, as convert_hf_to_gguf.py does),
// pieces, scores, token types, add_space_prefix = add_dummy_prefix (never for Gemma), the trainer's special ids,
// add_bos/add_eos and chat template from tokenizer_config.json when given. FILE names the model in errors.
void add_gguf_tokenizer_from_spm(Metadata& out, const SpmModel& spm, const std::string& tokenizer_config_json,
                                 int vocab_size, const std::string& arch, const std::string& file,
                                 std::vector<std::string>* notes);

}  // namespace unicorn
