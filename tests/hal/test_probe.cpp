// unicorn probe: parsers, id tables, the recorded machine trees of tests/data/probe, injected NPU driver answers,
// and problem/plan logic on hand-built facts.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "base/error.h"
#include "hal/amdxdna_uapi.h"
#include "hal/cpu_info.h"
#include "hal/gpu_ids.h"
#include "hal/probe_report.h"
#include "hal/sysfs_reader.h"
#include "hal/xdna_probe.h"
#include "tests/test_util.h"

using namespace unicorn;
using namespace unicorn::hal;
namespace fs = std::filesystem;

namespace {

ProbeRoots tree(const std::string& machine) {
  const std::string dir = test::test_data("probe/" + machine);
  ProbeRoots r;
  r.sys = dir + "/sys";
  r.dev = dir + "/dev";
  r.proc = dir + "/proc";
  if (fs::is_directory(dir + "/ioctl")) r.ioctl_answers = dir + "/ioctl";
  return r;
}

ProbeReport probe_tree(const std::string& machine, std::optional<uint64_t> model = std::nullopt) {
  ProbeOptions o;
  o.roots = tree(machine);
  o.model_bytes = model;
  return run_probe(o);
}

// A private copy of a recorded tree that a test may change.
std::string copy_tree(const std::string& machine, const std::string& tag) {
  const std::string dst = test::temp_dir(tag) + "/" + machine;
  fs::copy(test::test_data("probe/" + machine), dst, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  return dst;
}

const ProbeProblem* find_problem(const ProbeReport& r, const std::string& code) {
  for (const ProbeProblem& p : r.problems) {
    if (p.code == code) return &p;
  }
  return nullptr;
}

const MemoryFit* find_fit(const ProbeReport& r, const std::string& pool) {
  for (const MemoryFit& f : r.plan.fits) {
    if (f.pool == pool) return &f;
  }
  return nullptr;
}

// Injected driver: each param answers raw bytes (in the kernel layout) or an errno, like the real ioctl.
class FakeXdna final : public XdnaIoctl {
 public:
  std::map<uint32_t, std::vector<uint8_t>> bytes;
  std::map<uint32_t, int> errnos;
  std::map<uint32_t, uint32_t> reported_size;  // a driver that writes fewer bytes than asked
  int version_errno = 0;
  std::vector<uint32_t> asked;

  template <typename T>
  void answer(uint32_t param, const T& v) {
    std::vector<uint8_t> b(sizeof(T));
    std::memcpy(b.data(), &v, sizeof(T));
    bytes[param] = b;
  }
  int get_info(uint32_t param, void* buffer, uint32_t* size) override {
    asked.push_back(param);
    if (errnos.count(param)) return errnos[param];
    if (!bytes.count(param)) return EOPNOTSUPP;
    const auto& b = bytes[param];
    if (*size < b.size()) return EINVAL;
    std::memcpy(buffer, b.data(), b.size());
    *size = reported_size.count(param) ? reported_size[param] : static_cast<uint32_t>(b.size());
    return 0;
  }
  int version(std::string* name, std::string* ver) override {
    if (version_errno != 0) return version_errno;
    *name = "amdxdna_accel_driver";
    *ver = "0.6.0";
    return 0;
  }
};

}  // namespace

TEST_CASE("probe: /proc parsers", "[probe]") {
  const CpuinfoText t = parse_cpuinfo(read_trimmed(test::test_data("probe/phoenix-laptop/proc/cpuinfo")).value());
  CHECK(t.vendor == "AuthenticAMD");
  CHECK(t.model_name == "AMD Ryzen 7 7840U w/ Radeon 780M Graphics");
  CHECK(t.logical_cores == 16);
  CHECK(t.physical_cores == 8);
  CHECK(t.flags.avx2);
  CHECK(t.flags.avx512f);
  CHECK(t.flags.avx512_bf16);
  CHECK_FALSE(t.flags.amx_tile);

  std::optional<uint64_t> total, avail;
  parse_meminfo("MemTotal:       1000 kB\nMemFree: 5 kB\nMemAvailable:    600 kB\n", total, avail);
  CHECK(total == 1024000u);
  CHECK(avail == 614400u);

  const ByteLimit l = parse_limits_memlock("Limit Soft Hard Units\nMax locked memory         8388608              8388608              bytes\n");
  CHECK(l.known);
  CHECK_FALSE(l.unlimited);
  CHECK(l.bytes == 8388608u);
  const ByteLimit u = parse_limits_memlock("Max locked memory         unlimited            unlimited            bytes\n");
  CHECK(u.known);
  CHECK(u.unlimited);
  CHECK_FALSE(parse_limits_memlock("Max open files 1024 4096 files\n").known);
}

TEST_CASE("probe: sizes", "[probe]") {
  CHECK(parse_byte_size("3.1GB") == 3100000000ull);
  CHECK(parse_byte_size("2GiB") == 2147483648ull);
  CHECK(parse_byte_size("512 MiB") == 536870912ull);
  CHECK(parse_byte_size("123") == 123u);
  CHECK_THROWS_AS(parse_byte_size("abc"), Error);
  CHECK_THROWS_AS(parse_byte_size("3.1XB"), Error);
  CHECK_THROWS_AS(parse_byte_size(""), Error);
  CHECK_THROWS_AS(parse_byte_size("1.2.3GB"), Error);
  CHECK(format_bytes(512ull << 20) == "512 MiB");
  CHECK(format_bytes(3ull << 30) == "3.0 GiB");
}

TEST_CASE("probe: Radeon ids and NPU generations", "[probe]") {
  auto phoenix = lookup_amd_gpu(0x15bf, 0xc1);
  REQUIRE(phoenix);
  CHECK(phoenix->marketing_name == "AMD Radeon 780M Graphics");
  CHECK(phoenix->gfx_target == "gfx1103");
  CHECK(phoenix->integrated);
  CHECK(lookup_amd_gpu(0x15bf, 0xc3)->marketing_name == "AMD Radeon 760M Graphics");
  CHECK(lookup_amd_gpu(0x150e, 0xc1)->marketing_name == "AMD Radeon 890M Graphics");
  CHECK(lookup_amd_gpu(0x150e, 0xc1)->gfx_target == "gfx1150");
  CHECK(lookup_amd_gpu(0x1586, 0xc1)->marketing_name == "Radeon 8060S Graphics");
  CHECK(lookup_amd_gpu(0x1586, 0xc1)->gfx_target == "gfx1151");
  CHECK(lookup_amd_gpu(0x1114, 0xc2)->marketing_name == "AMD Radeon 860M Graphics");
  CHECK(lookup_amd_gpu(0x1114, 0xc2)->gfx_target == "gfx1152");
  auto navi31 = lookup_amd_gpu(0x744c, 0xc8);
  REQUIRE(navi31);
  CHECK(navi31->marketing_name == "AMD Radeon RX 7900 XTX");
  CHECK_FALSE(navi31->integrated);
  auto unknown_rev = lookup_amd_gpu(0x150e, 0x42);
  REQUIRE(unknown_rev);  // the family is still known
  CHECK(unknown_rev->family == "Strix Point");
  CHECK(unknown_rev->marketing_name.empty());
  CHECK_FALSE(lookup_amd_gpu(0x1234, 0));

  CHECK(xdna_generation(0x1502, 0x00)->generation == "XDNA1");
  CHECK(xdna_generation(0x1502, 0x00)->npu == "npu1");
  CHECK(xdna_generation(0x17f0, 0x10)->npu == "npu4");
  CHECK(xdna_generation(0x17f0, 0x11)->product == "NPU Strix Halo");
  CHECK(xdna_generation(0x17f0, 0x20)->product == "NPU Krackan");
  CHECK(xdna_generation(0x17f0, 0x20)->generation == "XDNA2");
  CHECK_FALSE(xdna_generation(0x17f0, 0x77)->driver_supports);
  CHECK_FALSE(xdna_generation(0x1234, 0));
}

TEST_CASE("probe: amdxdna UAPI layout", "[probe]") {
  // DRM_IOWR('d', 0x40 + 7, 16-byte struct): direction 3, size 16, type 'd', nr 0x47.
  CHECK(amdxdna::kIoctlGetInfo == 0xC0106447ul);
  CHECK(offsetof(amdxdna::AieMetadata, version) == 8);
  CHECK(offsetof(amdxdna::AieMetadata, core) == 16);
  CHECK(offsetof(amdxdna::AieMetadata, shim) == 48);
  CHECK(offsetof(amdxdna::Clock, freq_mhz) == 16);
}

TEST_CASE("probe: recorded Phoenix laptop (780M + XDNA1)", "[probe]") {
  const ProbeReport r = probe_tree("phoenix-laptop", 3100000000ull);
  CHECK(r.source.find("recorded tree") == 0);
  CHECK(r.vulkan.status == "not-probed");
  CHECK(r.cpu.model_name == "AMD Ryzen 7 7840U w/ Radeon 780M Graphics");
  CHECK(r.cpu.physical_cores == 8);
  CHECK(r.cpu.memlock.bytes == 8u << 20);
  REQUIRE(r.drm.gpus.size() == 1);
  const DrmGpu& g = r.drm.gpus[0];
  CHECK(g.pci_address == "0000:c4:00.0");
  CHECK(g.device_id == 0x15bf);
  CHECK(g.driver == "amdgpu");
  CHECK(g.display_name() == "AMD Radeon 780M Graphics");
  CHECK(g.amd->gfx_target == "gfx1103");
  CHECK(g.integrated);
  CHECK(g.render_node == tree("phoenix-laptop").dev + "/dri/renderD128");
  CHECK(g.vram_total == 512ull << 20);
  CHECK(g.gtt_total == 15640ull << 20);
  REQUIRE(r.xdna.npus.size() == 1);
  const XdnaNpu& n = r.xdna.npus[0];
  CHECK(n.driver == "amdxdna");
  CHECK(n.generation->generation == "XDNA1");
  CHECK(n.query_error.empty());
  CHECK(n.query_source.find("recorded answers") == 0);
  REQUIRE(n.answers);
  CHECK(n.answers->firmware_version == "1.5.2.380");
  REQUIRE(n.answers->aie);
  CHECK(n.answers->aie->cols == 5);
  CHECK(n.answers->aie->rows == 6);
  CHECK(n.answers->aie->core.row_count == 4);
  REQUIRE(n.answers->clocks.size() == 2);
  CHECK(n.answers->clocks[0].name == "MP-NPU Clock");
  CHECK(n.answers->power_mode == "default");
  CHECK(r.xdna.kernel_has_amdxdna == true);
  CHECK(r.has("npu"));
  CHECK(r.has("gpu"));
  CHECK_FALSE(r.has("vulkan"));
  REQUIRE(find_problem(r, "memlock_low"));
  CHECK(find_problem(r, "memlock_low")->remedy.find("memlock") != std::string::npos);
  CHECK(r.plan.run_device == "cpu");
  const MemoryFit* vram = find_fit(r, "VRAM");
  REQUIRE(vram);
  CHECK_FALSE(vram->fits);
  CHECK(vram->capacity == (512ull - 187) << 20);
  CHECK(vram->fraction == Approx(double(325ull << 20) / 3.1e9));
  REQUIRE(find_fit(r, "GTT"));
  CHECK(find_fit(r, "GTT")->fits);
  REQUIRE(find_fit(r, "VRAM+GTT"));
  CHECK(find_fit(r, "VRAM+GTT")->capacity == ((512ull - 187) << 20) + ((15640ull - 52) << 20));
  CHECK(find_fit(r, "RAM")->fits);
  bool says_not_built = false;
  for (const auto& note : r.plan.notes) says_not_built |= note.find("NPU execution is not built yet") != std::string::npos;
  CHECK(says_not_built);
}

TEST_CASE("probe: recorded Strix Point laptop (890M + XDNA2)", "[probe]") {
  const ProbeReport r = probe_tree("strix-laptop", 20ull << 30);
  REQUIRE(r.drm.gpus.size() == 1);
  CHECK(r.drm.gpus[0].display_name() == "AMD Radeon 890M Graphics");
  CHECK(r.drm.gpus[0].amd->gfx_target == "gfx1150");
  REQUIRE(r.xdna.npus.size() == 1);
  const XdnaNpu& n = r.xdna.npus[0];
  CHECK(n.generation->generation == "XDNA2");
  CHECK(n.generation->npu == "npu4");
  REQUIRE(n.answers);
  CHECK(n.answers->aie->cols == 8);
  CHECK(n.answers->firmware_version == "1.0.0.166");
  CHECK(r.cpu.memlock.unlimited);
  CHECK(r.problems.empty());
  CHECK(r.has("npu"));
  // 20 GiB: neither the 4 GiB carve-out nor GTT alone holds it, RAM does.
  CHECK_FALSE(find_fit(r, "VRAM")->fits);
  CHECK_FALSE(find_fit(r, "GTT")->fits);
  CHECK(find_fit(r, "VRAM+GTT")->fits == false);
  CHECK(find_fit(r, "RAM")->fits);
}

TEST_CASE("probe: recorded Hawk Point machine whose NPU has no driver", "[probe]") {
  const ProbeReport r = probe_tree("hawkpoint-no-amdxdna");
  REQUIRE(r.xdna.npus.size() == 1);
  const XdnaNpu& n = r.xdna.npus[0];
  CHECK(n.driver.empty());
  CHECK(n.accel_node.empty());
  CHECK_FALSE(n.answers);
  CHECK(n.query_error.find("no driver") != std::string::npos);
  CHECK_FALSE(r.has("npu"));
  CHECK(r.drm.gpus.at(0).amd->family == "Hawk Point1");
  const ProbeProblem* p = find_problem(r, "kernel_too_old");
  REQUIRE(p);
  CHECK(p->severity == "error");
  CHECK(p->what.find("6.8.0-45-generic") != std::string::npos);
  CHECK(p->remedy.find("6.14") != std::string::npos);

  // The same machine on a new enough kernel: the driver is simply not loaded.
  const std::string copy = copy_tree("hawkpoint-no-amdxdna", "probe-newkernel");
  {
    std::ofstream(copy + "/proc/sys/kernel/osrelease") << "6.14.0-15-generic\n";
  }
  ProbeOptions o;
  o.roots.sys = copy + "/sys";
  o.roots.dev = copy + "/dev";
  o.roots.proc = copy + "/proc";
  const ProbeReport r2 = run_probe(o);
  CHECK_FALSE(find_problem(r2, "kernel_too_old"));
  REQUIRE(find_problem(r2, "amdxdna_not_loaded"));
  CHECK(find_problem(r2, "amdxdna_not_loaded")->remedy.find("modprobe amdxdna") != std::string::npos);
  fs::remove_all(fs::path(copy).parent_path());
}

TEST_CASE("probe: recorded desktop with a Radeon dGPU and an NVIDIA GPU", "[probe]") {
  const ProbeReport r = probe_tree("desktop-radeon-nvidia", 30ull << 30);
  REQUIRE(r.drm.gpus.size() == 2);
  const DrmGpu& amd = r.drm.gpus[0];
  const DrmGpu& nv = r.drm.gpus[1];
  CHECK(amd.pci_address == "0000:03:00.0");
  CHECK(amd.display_name() == "AMD Radeon RX 7900 XTX");
  CHECK_FALSE(amd.integrated);
  CHECK(amd.vram_total == 24560ull << 20);
  CHECK(nv.vendor_name == "NVIDIA");
  CHECK(nv.driver == "nvidia");
  CHECK_FALSE(nv.vram_total);
  CHECK(nv.render_node.find("renderD129") != std::string::npos);
  CHECK(r.xdna.npus.empty());
  REQUIRE(find_problem(r, "no_npu"));
  CHECK_FALSE(find_fit(r, "VRAM+GTT"));  // only integrated GPUs pool both
  CHECK_FALSE(find_fit(r, "VRAM")->fits);  // 30 GiB > 24 GiB - used
  CHECK(r.has("gpu"));
  CHECK_FALSE(r.has("npu"));
}

TEST_CASE("probe: injected NPU driver answers are decoded from the kernel layout", "[probe]") {
  FakeXdna io;
  io.answer(amdxdna::kQueryFirmwareVersion, amdxdna::FirmwareVersion{1, 2, 3, 4567});
  amdxdna::AieMetadata m{};
  m.col_size = 1u << 25;
  m.cols = 4;
  m.rows = 6;
  m.version = {2, 1};
  m.core = {4, 2, 4, 16, 128, {}};
  m.mem = {1, 1, 12, 64, 128, {}};
  m.shim = {1, 0, 4, 16, 128, {}};
  io.answer(amdxdna::kQueryAieMetadata, m);
  amdxdna::ClockMetadata c{};
  std::memcpy(c.mp_npu_clock.name, "0123456789abcdef", 16);  // fills the field: no terminator
  c.mp_npu_clock.freq_mhz = 1267;
  std::memcpy(c.h_clock.name, "H Clock", 7);
  c.h_clock.freq_mhz = 1800;
  io.answer(amdxdna::kQueryClockMetadata, c);
  io.answer(amdxdna::kQueryAieVersion, amdxdna::AieVersion{2, 1});
  io.errnos[amdxdna::kGetPowerMode] = EINVAL;

  const XdnaAnswers a = query_xdna(io);
  CHECK(a.driver_name == "amdxdna_accel_driver");
  CHECK(a.firmware_version == "1.2.3.4567");
  REQUIRE(a.aie);
  CHECK(a.aie->cols == 4);
  CHECK(a.aie->col_size == 1u << 25);
  CHECK(a.aie->version_minor == 1);
  CHECK(a.aie->mem.dma_channel_count == 12);
  CHECK(a.aie->shim.row_start == 0);
  CHECK(a.aie_version == "2.1");
  REQUIRE(a.clocks.size() == 2);
  CHECK(a.clocks[0].name == "0123456789abcdef");
  CHECK(a.clocks[1].name == "H Clock");
  CHECK(a.clocks[1].freq_mhz == 1800);
  CHECK_FALSE(a.power_mode);
  REQUIRE(a.errors.size() == 1);
  CHECK(a.errors[0] == std::string("GET_POWER_MODE: ") + std::strerror(EINVAL));
}

TEST_CASE("probe: short or refused NPU answers are reported, not trusted", "[probe]") {
  FakeXdna io;
  io.answer(amdxdna::kQueryFirmwareVersion, amdxdna::FirmwareVersion{9, 9, 9, 9});
  io.reported_size[amdxdna::kQueryFirmwareVersion] = 8;  // driver claims it wrote half the struct
  io.version_errno = ENOTTY;
  amdxdna::PowerMode pm{};
  pm.power_mode = 7;
  io.answer(amdxdna::kGetPowerMode, pm);
  const XdnaAnswers a = query_xdna(io);
  CHECK_FALSE(a.firmware_version);
  CHECK(a.power_mode == "unknown (7)");
  CHECK_FALSE(a.aie);  // not answered: EOPNOTSUPP
  bool short_seen = false, version_seen = false, unsupported_seen = false;
  for (const auto& e : a.errors) {
    short_seen |= e.find("QUERY_FIRMWARE_VERSION: short answer (8 of 16 bytes)") != std::string::npos;
    version_seen |= e.find("DRM_IOCTL_VERSION") != std::string::npos;
    unsupported_seen |= e.find("QUERY_AIE_METADATA") != std::string::npos;
  }
  CHECK(short_seen);
  CHECK(version_seen);
  CHECK(unsupported_seen);
}

TEST_CASE("probe: malformed recorded answers are an error naming the file", "[probe]") {
  const std::string dir = test::temp_dir("probe-badjson");
  {
    std::ofstream(dir + "/accel0.json") << "{\"QUERY_FIRMWARE_VERSION\": {\"major\": 1}}";
    std::ofstream(dir + "/notjson.json") << "[1, 2";
  }
  CHECK_THROWS_WITH(load_recorded_xdna(dir + "/notjson.json"), Catch::Contains("notjson.json"));
  auto io = load_recorded_xdna(dir + "/accel0.json");
  amdxdna::FirmwareVersion fw{};
  uint32_t size = sizeof fw;
  CHECK_THROWS_WITH(io->get_info(amdxdna::kQueryFirmwareVersion, &fw, &size), Catch::Contains("accel0.json"));

  // Through the whole probe the bad file becomes the NPU's query error, not a crash.
  ProbeRoots roots = tree("phoenix-laptop");
  roots.ioctl_answers = dir;
  const XdnaReport x = probe_xdna(roots);
  REQUIRE(x.npus.size() == 1);
  CHECK(x.npus[0].query_error.find("accel0.json") != std::string::npos);
  CHECK_FALSE(x.npus[0].answers);
  fs::remove_all(dir);

  // Without recorded answers the placeholder node is never opened, and the NPU does not count as usable.
  ProbeOptions o;
  o.roots = tree("phoenix-laptop");
  o.roots.ioctl_answers.clear();
  const ProbeReport r = run_probe(o);
  REQUIRE(r.xdna.npus.size() == 1);
  CHECK(r.xdna.npus[0].query_error.find("not a character device") != std::string::npos);
  CHECK_FALSE(r.has("npu"));
  CHECK(find_problem(r, "npu_query_failed"));
}

TEST_CASE("probe: problems for nodes this user cannot open", "[probe]") {
  ProbeReport r;
  r.vulkan.status = "not-probed";
  DrmGpu g;
  g.pci_address = "0000:c4:00.0";
  g.vendor_id = kPciVendorAmd;
  g.device_id = 0x15bf;
  g.revision = 0xc1;
  g.amd = lookup_amd_gpu(0x15bf, 0xc1);
  g.driver = "amdgpu";
  g.render_node = "/dev/dri/renderD128";
  g.render_access = {"/dev/dri/renderD128", true, true, false, false, "render", false};
  r.drm.gpus.push_back(g);
  XdnaNpu n;
  n.pci_address = "0000:c5:00.1";
  n.device_id = kPciDeviceNpuPhoenix;
  n.generation = xdna_generation(kPciDeviceNpuPhoenix, 0);
  n.driver = "amdxdna";
  n.accel_node = "/dev/accel/accel0";
  n.access = {"/dev/accel/accel0", true, true, true, false, "render", false};
  n.query_error = "cannot open /dev/accel/accel0: Permission denied";
  r.xdna.npus.push_back(n);
  r.cpu.memlock = {true, true, 0};
  diagnose(r, std::nullopt);
  const ProbeProblem* render = find_problem(r, "render_node_denied");
  REQUIRE(render);
  CHECK(render->what.find("not in the group 'render'") != std::string::npos);
  CHECK(render->remedy.find("usermod -aG render") != std::string::npos);
  REQUIRE(find_problem(r, "accel_node_denied"));
  REQUIRE(find_problem(r, "npu_query_failed"));
  CHECK_FALSE(find_problem(r, "memlock_low"));  // unlimited
  CHECK_FALSE(r.has("gpu"));
  CHECK_FALSE(r.has("npu"));
  CHECK_THROWS_AS(r.has("tpu"), Error);

  // Vulkan states each explain themselves.
  ProbeReport v;
  v.vulkan.status = "no-loader";
  v.vulkan.detail = "libvulkan.so.1: cannot open shared object file";
  diagnose(v, std::nullopt);
  REQUIRE(find_problem(v, "no_vulkan_loader"));
  CHECK(find_problem(v, "no_vulkan_loader")->remedy.find("libvulkan1") != std::string::npos);
  v.vulkan.status = "ok";
  VulkanDevice lvp;
  lvp.name = "llvmpipe (LLVM 15.0.6, 256 bits)";
  lvp.type = "cpu";
  v.vulkan.devices.push_back(lvp);
  diagnose(v, std::nullopt);
  REQUIRE(find_problem(v, "only_software_vulkan"));
  ProbeReport f;
  f.vulkan.status = "instance-failed";
  f.vulkan.icd_manifests = {"/usr/share/vulkan/icd.d/nvidia_icd.json"};
  diagnose(f, std::nullopt);
  REQUIRE(find_problem(f, "vulkan_instance_failed"));
  CHECK(find_problem(f, "vulkan_instance_failed")->remedy.find("VK_LOADER_DEBUG") != std::string::npos);
  CHECK(v.has("vulkan"));
  CHECK_FALSE(v.has("gpu"));
}

TEST_CASE("probe: JSON document", "[probe]") {
  const ProbeReport r = probe_tree("strix-laptop", 1000);
  const nlohmann::json j = report_to_json(r);
  CHECK(j.at("schema") == "unicorn-probe");
  CHECK(j.at("schema_version") == kProbeSchemaVersion);
  CHECK(j.at("recorded") == true);
  CHECK(j.at("available").at("npu") == true);
  CHECK(j.at("available").at("vulkan") == false);
  CHECK(j.at("drm").at("gpus").at(0).at("amd").at("gfx_target") == "gfx1150");
  CHECK(j.at("drm").at("gpus").at(0).at("vram_total") == 4ull << 30);
  CHECK(j.at("npu").at("npus").at(0).at("answers").at("aie").at("columns") == 8);
  CHECK(j.at("cpu").at("memlock_bytes") == "unlimited");
  CHECK(j.at("plan").at("run_device") == "cpu");
  CHECK(j.at("plan").at("model_bytes") == 1000);
  CHECK(j.at("vulkan").at("status") == "not-probed");
}

TEST_CASE("probe: this machine", "[probe]") {
  // The live probe must never throw and must label itself as this machine; what it finds depends on the host.
  ProbeOptions o;
  const ProbeReport r = run_probe(o);
  CHECK(r.source == "this machine");
  CHECK(r.cpu.logical_cores > 0);
  CHECK(r.cpu.ram_total_bytes.has_value());
  CHECK(r.cpu.memlock.known);
  CHECK(r.plan.run_device == "cpu");
#ifdef UNICORN_HAVE_VULKAN
  CHECK(r.vulkan.status != "built-without-vulkan");
#endif
}

TEST_CASE("probe: ICD manifest override follows the loader's variables", "[probe]") {
  const char* old_files = std::getenv("VK_DRIVER_FILES");
  const std::string saved = old_files ? old_files : "";
  ::setenv("VK_DRIVER_FILES", "/a/one.json:/b/two.json", 1);
  const std::vector<std::string> m = find_icd_manifests();
  if (old_files) ::setenv("VK_DRIVER_FILES", saved.c_str(), 1);
  else ::unsetenv("VK_DRIVER_FILES");
  REQUIRE(m.size() == 2);
  CHECK(m[0] == "/a/one.json");
  CHECK(m[1] == "/b/two.json");
}

TEST_CASE("probe: a Vulkan device links to its DRM GPU by PCI address", "[probe]") {
  ProbeReport r = probe_tree("phoenix-laptop");
  VulkanDevice radv;
  radv.name = "AMD Radeon 780M (RADV GFX1103_R1)";
  radv.type = "integrated-gpu";
  radv.pci = PciAddress{0, 0xc4, 0, 0};
  r.vulkan.status = "ok";
  r.vulkan.devices.push_back(radv);
  const DrmGpu* g = drm_gpu_for(r, r.vulkan.devices[0]);
  REQUIRE(g);
  CHECK(g->display_name() == "AMD Radeon 780M Graphics");
  CHECK(report_to_json(r).at("vulkan").at("devices").at(0).at("drm_gpu") == true);
  r.vulkan.devices[0].pci = PciAddress{0, 0xc5, 0, 0};
  CHECK_FALSE(drm_gpu_for(r, r.vulkan.devices[0]));
  r.vulkan.devices[0].pci.reset();
  CHECK_FALSE(drm_gpu_for(r, r.vulkan.devices[0]));
  CHECK(PciAddress{0x1, 0x3, 0x1f, 0x7}.str() == "0001:03:1f.7");
}

#ifdef UNICORN_HAVE_VULKAN
TEST_CASE("probe: the plan names the cooperative-matrix and integer-dot kernels a GPU would take", "[probe]") {
  ProbeReport r = probe_tree("phoenix-laptop");
  VulkanDevice radv;
  radv.name = "AMD Radeon 780M (RADV GFX1103_R1)";
  radv.type = "integrated-gpu";
  radv.subgroup_size = 64, radv.min_subgroup_size = 32, radv.max_subgroup_size = 64;  // wave64, 32 can be asked
  radv.shader_float16 = true;
  r.vulkan.status = "ok";
  r.vulkan.devices.push_back(radv);
  const auto says = [&](const char* what) {
    diagnose(r, std::nullopt);
    return std::any_of(r.plan.notes.begin(), r.plan.notes.end(),
                       [&](const std::string& n) { return n.find(what) != std::string::npos; });
  };
  CHECK_FALSE(says("cooperative matrices"));
  CHECK_FALSE(says("integer dot products"));
  VulkanDevice& d = r.vulkan.devices[0];
  d.cooperative_matrix = true;
  d.cooperative_matrix_shapes.push_back({16, 16, 16, "float16", "float16", "float16", "float16", "subgroup", false});
  CHECK_FALSE(says("cooperative matrices"));  // fp16 sums only: not the kernels' shape
  d.cooperative_matrix_shapes.push_back({16, 16, 16, "float16", "float16", "float32", "float32", "subgroup", false});
  CHECK(says("cooperative matrices"));
  d.max_subgroup_size = 16, d.min_subgroup_size = 16, d.subgroup_size = 16;
  CHECK_FALSE(says("cooperative matrices"));  // the kernels' 8 subgroups of 32 cannot be had
  d.integer_dot_product = true;
  CHECK(says("integer dot products"));
}
#endif
