#include "runtime/quantize_job.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "formats/model_source.h"
#include "formats/ucn.h"
#include "quant/quant.h"
#include "runtime/convert.h"

namespace unicorn {
namespace {

bool is_plain_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

DType output_dtype(const PlannedTensor& t, const QuantizeJobOptions& o) {
  const DType src = t.source != nullptr ? t.source->dtype : DType::F32;
  const bool decodable = t.source == nullptr || dtype_is_float_decodable(src);
  if (!decodable) {
    // Integer tensors and types we cannot decode are carried over byte for byte (when nothing transforms them).
    if (!t.is_identity()) throw Error(str_cat("cannot transform a ", dtype_name(src), " tensor"), {"", t.name, ""});
    return src;
  }
  if (o.mix) return quant::choose_tensor_type(*o.mix, t.role);
  if (t.shape.size() <= 1) return is_plain_float(src) ? DType::F32 : src;
  switch (o.pack_dtype) {
    case PackDType::Keep: return src;
    case PackDType::F16: return is_plain_float(src) ? DType::F16 : src;
    case PackDType::BF16: return is_plain_float(src) ? DType::BF16 : src;
  }
  return src;
}

// Produces the stored bytes of one tensor into dst and records its error statistics.
class TensorConverter {
 public:
  TensorConverter(ThreadPool& pool, bool measure) : pool_(pool), measure_(measure) {}

  void run(const PlannedTensor& t, DType dtype, uint8_t* dst, uint64_t nbytes, TensorResult& res) {
    if (t.is_identity() && t.source->dtype == dtype) {
      if (t.source->nbytes < nbytes) throw Error("source tensor data is shorter than its shape", {"", t.source->name, ""});
      std::memcpy(dst, t.source->data, nbytes);
      res.measured = measure_;
      return;
    }
    planned_tensor_f32(t, values_, &pool_);
    const int64_t rows = t.rows(), cols = t.cols();
    quant::quantize_tensor(dtype, values_.data(), rows, cols, dst, t.name, &pool_);
    if (!measure_) return;
    // Error of the stored values against the (transformed) source values, per row in parallel.
    const uint64_t row_bytes = dtype_row_bytes(dtype, static_cast<uint64_t>(cols));
    std::vector<double> sq(static_cast<size_t>(pool_.size()), 0.0), mx(static_cast<size_t>(pool_.size()), 0.0);
    std::vector<std::vector<float>> scratch(static_cast<size_t>(pool_.size()), std::vector<float>(static_cast<size_t>(cols)));
    pool_.parallel_for(static_cast<size_t>(rows), [&](int ti, size_t r0, size_t r1) {
      std::vector<float>& back = scratch[static_cast<size_t>(ti)];
      for (size_t r = r0; r < r1; ++r) {
        quant::dequantize_row(dtype, dst + r * row_bytes, back.data(), cols);
        const float* ref = values_.data() + r * static_cast<size_t>(cols);
        for (int64_t c = 0; c < cols; ++c) {
          const double d = static_cast<double>(back[c]) - static_cast<double>(ref[c]);
          sq[static_cast<size_t>(ti)] += d * d;
          mx[static_cast<size_t>(ti)] = std::max(mx[static_cast<size_t>(ti)], std::abs(d));
        }
      }
    });
    double s = 0, m = 0;
    for (size_t i = 0; i < sq.size(); ++i) {
      s += sq[i];
      m = std::max(m, mx[i]);
    }
    const double n = static_cast<double>(std::max<int64_t>(1, rows * cols));
    res.rmse = std::sqrt(s / n);
    res.max_abs = m;
    res.measured = true;
  }

 private:
  ThreadPool& pool_;
  bool measure_;
  std::vector<float> values_;
};

}  // namespace

QuantizeJobResult run_quantize_job(const QuantizeJobOptions& o, const QuantizeProgress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const OutputFormat fmt = output_format_for_path(o.output);
  if (o.zstd && fmt != OutputFormat::Ucn) throw Error("zstd compression applies to .ucn output only", {o.output, "", ""});
  {
    std::error_code ec;
    if (std::filesystem::exists(o.output, ec) && std::filesystem::equivalent(o.input, o.output, ec)) {
      throw Error("output would overwrite the input", {o.output, "", ""});
    }
  }
  std::unique_ptr<ModelSource> src = open_model_source(o.input, o.verify_input);
  ConversionPlan plan = plan_conversion(*src, fmt);

  QuantizeJobResult result;
  result.arch = plan.arch;
  result.source_flavour = plan.source_flavour;
  result.format = fmt == OutputFormat::Gguf ? "gguf" : "ucn";
  result.notes = plan.notes;
  for (const TensorView& t : src->tensors()) result.input_tensor_bytes += t.nbytes;

  // Output types and sizes first, so bad shapes fail before anything is written.
  std::vector<DType> types;
  std::vector<uint64_t> sizes;
  result.tensors.resize(plan.tensors.size());
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const PlannedTensor& t = plan.tensors[i];
    try {
      types.push_back(output_dtype(t, o));
      sizes.push_back(dtype_row_bytes(types.back(), static_cast<uint64_t>(t.cols())) * static_cast<uint64_t>(t.rows()));
    } catch (const Error& e) {
      throw Error(e.message(), {o.input, t.name, e.context().field});
    }
    TensorResult& r = result.tensors[i];
    r.name = t.name;
    r.source_name = t.source != nullptr ? t.source->name : std::string();
    r.source_dtype = t.source != nullptr ? t.source->dtype : DType::F32;
    r.dtype = types.back();
    r.shape = t.shape;
    r.bytes = sizes.back();
    result.output_tensor_bytes += r.bytes;
    result.parameters += static_cast<uint64_t>(t.elements());
  }

  Metadata meta = plan.metadata;
  if (o.mix) {
    if (fmt == OutputFormat::Gguf || plan.source_flavour == "gguf") {
      meta.set("general.file_type", MetaValue::u32(quant::quant_mix_gguf_file_type(*o.mix)));
    }
    if (fmt == OutputFormat::Ucn) meta.set("unicorn.quant_mix", MetaValue::str(quant::quant_mix_name(*o.mix)));
  }

  ThreadPool pool(o.threads > 0 ? o.threads : physical_core_count());
  TensorConverter conv(pool, o.measure_errors);
  size_t done = 0;
  auto produce = [&](size_t i, uint8_t* dst) {
    try {
      conv.run(plan.tensors[i], types[i], dst, sizes[i], result.tensors[i]);
    } catch (const Error& e) {
      throw Error(e.message(), {o.input, e.context().tensor.empty() ? plan.tensors[i].name : e.context().tensor,
                                e.context().field});
    }
    ++done;
    if (progress) progress(done, plan.tensors.size(), plan.tensors[i].name);
  };

  if (fmt == OutputFormat::Ucn) {
    UcnWriter::Options wo;
    wo.zstd = o.zstd;
    wo.threads = o.threads;
    UcnWriter w(o.output, wo);
    w.set_metadata(meta);
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
      w.add_tensor(plan.tensors[i].name, types[i], plan.tensors[i].shape,
                   [&, i](uint8_t* out, uint64_t) { produce(i, out); });
    }
    w.finish();
  } else {
    GgufWriter w;
    // general.architecture first, as llama.cpp's writer does; the rest in key order.
    if (meta.has("general.architecture")) w.set("general.architecture", meta.get("general.architecture"));
    for (const auto& [k, v] : meta.entries()) {
      if (k != "general.architecture") w.set(k, v);
    }
    std::vector<uint8_t> buf;
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
      w.add_tensor(plan.tensors[i].name, types[i], plan.tensors[i].shape, sizes[i],
                   [&, i](const GgufWriter::Sink& sink) {
                     buf.resize(sizes[i]);
                     produce(i, buf.data());
                     sink(buf.data(), sizes[i]);
                   });
    }
    w.write(o.output);
  }
  result.output_file_bytes = std::filesystem::file_size(o.output);
  result.bits_per_weight =
      result.parameters > 0 ? 8.0 * static_cast<double>(result.output_tensor_bytes) / static_cast<double>(result.parameters) : 0.0;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace unicorn
