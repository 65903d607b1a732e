// report_to_json: the versioned document of docs/PROBE.md. Field names are the schema; change them only together
// with kProbeSchemaVersion and the doc.
#include "hal/probe_report.h"

#include "base/error.h"

namespace unicorn::hal {
namespace {

using nlohmann::json;

template <typename T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json node_json(const NodeAccess& a) {
  return {{"path", a.path},         {"exists", a.exists},     {"char_device", a.char_device},
          {"readable", a.readable}, {"writable", a.writable}, {"group", a.group},
          {"user_in_group", a.user_in_group}};
}

json cpu_json(const CpuInfo& c) {
  const CpuFeatures& f = c.features;
  json j = {{"source", c.source},
            {"vendor", c.vendor},
            {"model_name", c.model_name},
            {"logical_cores", c.logical_cores},
            {"physical_cores", c.physical_cores},
            {"features",
             {{"avx2", f.avx2},
              {"fma", f.fma},
              {"f16c", f.f16c},
              {"avx512f", f.avx512f},
              {"avx512bw", f.avx512bw},
              {"avx512vl", f.avx512vl},
              {"avx512_vnni", f.avx512_vnni},
              {"avx512_bf16", f.avx512_bf16},
              {"amx_tile", f.amx_tile},
              {"amx_int8", f.amx_int8},
              {"amx_bf16", f.amx_bf16}}},
            {"ram_total_bytes", opt(c.ram_total_bytes)},
            {"ram_available_bytes", opt(c.ram_available_bytes)}};
  if (!c.memlock.known) j["memlock_bytes"] = nullptr;
  else if (c.memlock.unlimited) j["memlock_bytes"] = "unlimited";
  else j["memlock_bytes"] = c.memlock.bytes;
  return j;
}

json vulkan_json(const ProbeReport& r) {
  const VulkanReport& v = r.vulkan;
  json devices = json::array();
  for (const VulkanDevice& d : v.devices) {
    json heaps = json::array();
    for (const VulkanHeap& h : d.heaps)
      heaps.push_back({{"size", h.size}, {"device_local", h.device_local}, {"budget", opt(h.budget)}, {"usage", opt(h.usage)}});
    json shapes = json::array();
    for (const VulkanCoopMatrixShape& s : d.cooperative_matrix_shapes) {
      shapes.push_back({{"m", s.m}, {"n", s.n}, {"k", s.k}, {"a", s.a_type}, {"b", s.b_type}, {"c", s.c_type},
                        {"result", s.result_type}, {"scope", s.scope}, {"saturating", s.saturating_accumulation}});
    }
    devices.push_back({{"name", d.name},
                       {"type", d.type},
                       {"vendor_id", d.vendor_id},
                       {"device_id", d.device_id},
                       {"driver_name", d.driver_name},
                       {"driver_info", d.driver_info},
                       {"driver_version", d.driver_version},
                       {"api_version", d.api_version},
                       {"memory_budget", d.memory_budget},
                       {"heaps", heaps},
                       {"subgroup_size", d.subgroup_size},
                       {"min_subgroup_size", d.min_subgroup_size},
                       {"max_subgroup_size", d.max_subgroup_size},
                       {"shader_float16", d.shader_float16},
                       {"shader_int8", d.shader_int8},
                       {"storage_buffer_8bit", d.storage_buffer_8bit},
                       {"storage_buffer_16bit", d.storage_buffer_16bit},
                       {"integer_dot_product", d.integer_dot_product},
                       {"integer_dot_product_8bit_accelerated", d.integer_dot_product_8bit_accelerated},
                       {"float_atomic_add", d.float_atomic_add},
                       {"transfer_queue", d.transfer_queue},
                       {"cooperative_matrix", d.cooperative_matrix},
                       {"cooperative_matrix_shapes", shapes},
                       {"max_shared_memory", d.max_shared_memory},
                       {"uma", d.uma},
                       {"pci_address", d.pci ? json(d.pci->str()) : json(nullptr)},
                       {"drm_gpu", drm_gpu_for(r, d) != nullptr}});
  }
  return {{"status", v.status},
          {"detail", v.detail},
          {"instance_version", v.instance_version},
          {"icd_manifests", v.icd_manifests},
          {"devices", devices}};
}

json drm_json(const DrmReport& r) {
  json gpus = json::array();
  for (const DrmGpu& g : r.gpus) {
    json amd = nullptr;
    if (g.amd) amd = {{"family", g.amd->family}, {"gfx_target", g.amd->gfx_target}, {"marketing_name", g.amd->marketing_name}};
    gpus.push_back({{"pci_address", g.pci_address},
                    {"vendor_id", g.vendor_id},
                    {"device_id", g.device_id},
                    {"revision", g.revision},
                    {"subsystem_vendor", g.subsystem_vendor},
                    {"subsystem_device", g.subsystem_device},
                    {"vendor", g.vendor_name},
                    {"name", g.display_name()},
                    {"driver", g.driver},
                    {"driver_version", g.driver_version},
                    {"render_node", g.render_node},
                    {"card_node", g.card_node},
                    {"render_access", g.render_node.empty() ? json(nullptr) : node_json(g.render_access)},
                    {"vram_total", opt(g.vram_total)},
                    {"vram_used", opt(g.vram_used)},
                    {"vis_vram_total", opt(g.vis_vram_total)},
                    {"gtt_total", opt(g.gtt_total)},
                    {"gtt_used", opt(g.gtt_used)},
                    {"integrated", g.integrated},
                    {"amd", amd}});
  }
  return {{"source", r.source}, {"note", r.note}, {"gpus", gpus}};
}

json xdna_json(const XdnaReport& x) {
  json npus = json::array();
  for (const XdnaNpu& n : x.npus) {
    json answers = nullptr;
    if (n.answers) {
      const XdnaAnswers& a = *n.answers;
      json aie = nullptr;
      if (a.aie) {
        auto tiles = [](const XdnaTiles& t) {
          return json{{"row_count", t.row_count}, {"row_start", t.row_start}, {"dma_channel_count", t.dma_channel_count},
                      {"lock_count", t.lock_count}, {"event_reg_count", t.event_reg_count}};
        };
        aie = {{"columns", a.aie->cols},
               {"rows", a.aie->rows},
               {"column_size", a.aie->col_size},
               {"version", str_cat(a.aie->version_major, ".", a.aie->version_minor)},
               {"core", tiles(a.aie->core)},
               {"mem", tiles(a.aie->mem)},
               {"shim", tiles(a.aie->shim)}};
      }
      json clocks = json::array();
      for (const XdnaClock& c : a.clocks) clocks.push_back({{"name", c.name}, {"mhz", c.freq_mhz}});
      answers = {{"driver_name", a.driver_name},     {"driver_version", a.driver_version},
                 {"firmware_version", opt(a.firmware_version)}, {"aie", aie},
                 {"aie_version", opt(a.aie_version)}, {"clocks", clocks},
                 {"power_mode", opt(a.power_mode)},   {"errors", a.errors}};
    }
    json gen = nullptr;
    if (n.generation)
      gen = {{"generation", n.generation->generation}, {"npu", n.generation->npu}, {"product", n.generation->product},
             {"driver_supports", n.generation->driver_supports}};
    npus.push_back({{"pci_address", n.pci_address},
                    {"vendor_id", n.vendor_id},
                    {"device_id", n.device_id},
                    {"revision", n.revision},
                    {"generation", gen},
                    {"driver", n.driver},
                    {"accel_node", n.accel_node},
                    {"access", n.accel_node.empty() ? json(nullptr) : node_json(n.access)},
                    {"query_source", n.query_source},
                    {"query_error", n.query_error},
                    {"answers", answers}});
  }
  return {{"kernel_release", x.kernel_release},
          {"kernel_has_amdxdna", opt(x.kernel_has_amdxdna)},
          {"module_loaded", x.module_loaded},
          {"xrt", x.xrt},
          {"npus", npus}};
}

}  // namespace

nlohmann::json report_to_json(const ProbeReport& r) {
  json problems = json::array();
  for (const ProbeProblem& p : r.problems)
    problems.push_back({{"severity", p.severity}, {"code", p.code}, {"what", p.what}, {"remedy", p.remedy}});
  json fits = json::array();
  for (const MemoryFit& f : r.plan.fits) {
    fits.push_back({{"pool", f.pool}, {"device", f.device}, {"capacity", f.capacity}, {"total", f.total},
                    {"fits", f.fits}, {"fraction", f.fraction}, {"note", f.note}});
  }
  json available = json::object();
  for (const char* k : {"cpu", "vulkan", "gpu", "npu"}) available[k] = r.has(k);
  return {{"schema", "unicorn-probe"},
          {"schema_version", kProbeSchemaVersion},
          {"source", r.source},
          {"recorded", r.source != "this machine"},
          {"available", available},
          {"cpu", cpu_json(r.cpu)},
          {"vulkan", vulkan_json(r)},
          {"drm", drm_json(r.drm)},
          {"npu", xdna_json(r.xdna)},
          {"problems", problems},
          {"plan",
           {{"run_device", r.plan.run_device},
            {"notes", r.plan.notes},
            {"model_bytes", opt(r.plan.model_bytes)},
            {"fits", fits}}}};
}

}  // namespace unicorn::hal
