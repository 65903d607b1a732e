#include "runtime/model.h"

#include <filesystem>

#include "base/error.h"
#include "formats/model_source.h"
#include "runtime/cpu_model.h"
#include "runtime/model_config.h"
#include "runtime/vulkan_model.h"

namespace unicorn {

ForwardTimes operator-(const ForwardTimes& a, const ForwardTimes& b) {
  return {a.forwards - b.forwards, a.total_ms - b.total_ms, a.record_ms - b.record_ms, a.wait_ms - b.wait_ms,
          a.gpu_ms - b.gpu_ms};
}

std::unique_ptr<Model> Model::load(const std::string& path, const ModelOptions& opts) {
  std::unique_ptr<ModelSource> src = open_model_source(path);
  const Metadata& meta = src->metadata();
  ModelConfig cfg;
  if (auto hf = meta.opt_string("hf.config_json")) {
    // Name config.json itself in errors when the checkpoint is a directory.
    const bool dir = std::filesystem::is_directory(src->path());
    cfg = config_from_hf_json(*hf, dir ? src->path() + "/config.json" : src->path());
    if (auto gen = meta.opt_string("hf.generation_config_json"))
      add_generation_config_eos(cfg, *gen, dir ? src->path() + "/generation_config.json" : src->path());
  } else if (meta.has("general.architecture")) {
    cfg = config_from_gguf(meta, src->path());
  } else {
    throw Error("no model configuration found (neither config.json nor GGUF general.architecture)",
                Error::Context{src->path(), "", ""});
  }
  const std::string device = resolve_device(opts.device);
  if (device == "cpu" || opts.gpu_layers == 0) return make_cpu_model(std::move(src), std::move(cfg), opts);
  return make_vulkan_model(std::move(src), std::move(cfg), opts, device);
}

}  // namespace unicorn
