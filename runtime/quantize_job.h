#pragma once
// The work behind `unicorn quantize` and `unicorn pack`: open a model (HF dir, GGUF, .ucn), plan the output
// (runtime/convert.h), convert/quantize every tensor with a thread pool and write .gguf or .ucn atomically.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "quant/recipe.h"

namespace unicorn {

// How `pack` stores float tensors: as they are, or converted to F16/BF16 (1-D tensors become F32).
enum class PackDType { Keep, F16, BF16 };

struct QuantizeJobOptions {
  std::string input;
  std::string output;                      // .gguf or .ucn (by extension)
  std::optional<quant::QuantMix> mix;      // quantize; nullopt = pack
  PackDType pack_dtype = PackDType::Keep;  // pack only
  bool zstd = false;                       // .ucn only
  int threads = 0;                         // 0 = physical cores
  bool measure_errors = false;             // per-tensor RMSE / max-abs error against the source values
  bool verify_input = false;               // verify .ucn input checksums
};

struct TensorResult {
  std::string name;
  std::string source_name;
  DType source_dtype = DType::F32;  // F32 for generated tensors
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
  bool measured = false;
  double rmse = 0.0;
  double max_abs = 0.0;
};

struct QuantizeJobResult {
  std::string arch;
  std::string source_flavour;      // hf | gguf
  std::string format;              // gguf | ucn
  uint64_t input_tensor_bytes = 0; // sum of the source tensors' bytes
  uint64_t output_tensor_bytes = 0;
  uint64_t output_file_bytes = 0;
  uint64_t parameters = 0;         // elements of all output tensors
  double bits_per_weight = 0.0;    // 8 * output_tensor_bytes / parameters
  double seconds = 0.0;
  std::vector<TensorResult> tensors;
  std::vector<std::string> notes;
};

// Progress: called after each tensor with (done, total, tensor name).
using QuantizeProgress = std::function<void(size_t done, size_t total, const std::string& name)>;

// Runs the whole job. Throws Error (naming file/tensor/field) on bad input; the output file then does not exist.
QuantizeJobResult run_quantize_job(const QuantizeJobOptions& options, const QuantizeProgress& progress = {});

}  // namespace unicorn
