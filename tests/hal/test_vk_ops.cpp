// Op-level checks of the Vulkan compute shaders against the CPU reference (test-backend-ops style): random non-zero
// inputs, sizes that are not multiples of the workgroup, every weight type. Runs with validation layers on
// (UNICORN_VK_VALIDATE=1) and requires zero validation errors. Skips when no Vulkan device is present.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "base/error.h"
#include "tests/test_util.h"

#ifdef UNICORN_HAVE_VULKAN
#include "base/dtype.h"
#include "hal/vk_context.h"
#include "hal/vk_kernels.h"
#include "hal/vk_shaders.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "quant/quant.h"
#include "tests/hal/vk_test_util.h"

using namespace unicorn;
using namespace unicorn::hal;
using namespace unicorn::test;

namespace {

void check_matvec(VulkanContext& ctx, VulkanKernels& vk, DType t, uint32_t rows, uint32_t cols, uint32_t n_tokens,
                  uint32_t seed, uint64_t offset = 12) {
  // Q8_0 on integer dot products rounds x to int8 (the bound of the test below); the others are float products.
  check_weight_product(ctx, t, rows, cols, n_tokens, seed,
                       [&](CommandRecorder& rec, const GpuBuffer& w, uint64_t w_offset, const GpuBuffer& x,
                           const GpuBuffer& y) { vk.matvec(rec, t, w, w_offset, rows, cols, x, y, n_tokens); },
                       offset, vk.matvec_int_dot(t, cols) ? 1e-2 : 1e-5);
}

}  // namespace

TEST_CASE("vulkan device selection prefers a real GPU and parses vulkan:N", "[vulkan]") {
  const std::vector<VulkanDeviceChoice> devs = {{0, "llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU},
                                                {1, "igpu", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU},
                                                {2, "dgpu", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU},
                                                {3, "dgpu2", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU}};
  CHECK(select_vulkan_device(devs, "auto") == 2);
  CHECK(select_vulkan_device(devs, "vulkan") == 2);
  CHECK(select_vulkan_device({devs[0], devs[1]}, "auto") == 1);
  CHECK(select_vulkan_device({devs[0]}, "auto") == 0);
  CHECK(select_vulkan_device(devs, "vulkan:0") == 0);
  CHECK(select_vulkan_device(devs, "vulkan:3") == 3);
  CHECK_THROWS_WITH(select_vulkan_device(devs, "vulkan:4"), Catch::Contains("only 4"));
  CHECK_THROWS_AS(select_vulkan_device(devs, "vulkan:x"), Error);
  CHECK_THROWS_AS(select_vulkan_device(devs, "vulkan:"), Error);
  CHECK_THROWS_AS(select_vulkan_device(devs, "cuda"), Error);
  CHECK_THROWS_AS(select_vulkan_device({}, "auto"), Error);
}

TEST_CASE("pipelines require 32-wide subgroups only where the default differs and 32 can be required", "[vulkan]") {
  // Property values as RADV (wave64 default, 32-64), NVIDIA (32 only) and lavapipe (8 only) report them.
  const SubgroupSizeControl radv{true, true, 32, 64, 16}, nvidia{true, true, 32, 32, 32}, lavapipe{true, true, 8, 8, 128};
  CHECK(pick_required_subgroup_size(64, radv) == 32);
  CHECK(pick_required_subgroup_size(32, radv) == 0);  // already 32: nothing to ask
  CHECK(pick_required_subgroup_size(32, nvidia) == 0);
  CHECK(pick_required_subgroup_size(8, lavapipe) == 0);  // 32 is outside 8..8
  SubgroupSizeControl no_compute = radv;
  no_compute.compute_stage = false;
  CHECK(pick_required_subgroup_size(64, no_compute) == 0);
  CHECK(pick_required_subgroup_size(64, SubgroupSizeControl{}) == 0);  // no extension
  SubgroupSizeControl small = radv;
  small.max_workgroup_subgroups = 4;  // 4 x 32 < a 256-invocation workgroup
  CHECK(pick_required_subgroup_size(64, small) == 0);
}

TEST_CASE("cooperative matrices: KHR before NV, the setting obeyed, unknown settings refused", "[vulkan]") {
  const CoopMatrixSupport both{true, true, true}, nv_only{true, false, true}, none{false, false, true};
  CHECK(pick_coop_matrix(both, nullptr) == CoopMatrix::Khr);
  CHECK(pick_coop_matrix(both, "") == CoopMatrix::Khr);
  CHECK(pick_coop_matrix(nv_only, nullptr) == CoopMatrix::Nv);
  CHECK(pick_coop_matrix(none, nullptr) == CoopMatrix::None);
  CHECK(pick_coop_matrix(both, "nv") == CoopMatrix::Nv);
  CHECK(pick_coop_matrix(nv_only, "khr") == CoopMatrix::None);  // insisting on what the device lacks: none
  CHECK(pick_coop_matrix(both, "0") == CoopMatrix::None);
  CHECK(pick_coop_matrix(CoopMatrixSupport{true, true, false}, nullptr) == CoopMatrix::None);  // no fp16 math etc.
  CHECK_THROWS_WITH(pick_coop_matrix(both, "yes"), Catch::Contains("UNICORN_VK_COOPMAT='yes'"));
}

TEST_CASE("every shader is embedded as SPIR-V", "[vulkan]") {
  for (const char* name : {"matvec_f32", "matvec_f16", "matvec_bf16", "matvec_q4_0", "matvec_q8_0", "matvec_q4_k",
                           "matvec_q5_k", "matvec_q6_k", "matvec_q4_k_sg", "matvec_q6_k_sg", "rmsnorm", "softmax",
                           "glu", "binary", "rope", "attn_decode", "unary", "get_rows_f32", "get_rows_q4_0",
                           "get_rows_q6_k"}) {
    const SpirvBlob& b = find_spirv(name);
    REQUIRE(b.size_bytes >= 20);
    CHECK(b.words[0] == 0x07230203u);  // SPIR-V magic
  }
  CHECK_THROWS_AS(find_spirv("no_such_shader"), Error);
}

TEST_CASE("vulkan context runs with validation on", "[vulkan]") {
  NEED_VULKAN();
  WARN("Vulkan device: " << ctx.device_name() << ", subgroup size " << ctx.subgroup_size());
  const bool layer_installed =
      std::filesystem::exists("/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json");
  if (layer_installed) CHECK(ctx.validation_enabled());
  CHECK(ctx.subgroup_size() > 0);
  // Buffers round-trip through both places.
  const std::vector<float> v = random_floats(1000, 7);
  for (BufferPlace place : {BufferPlace::DeviceLocal, BufferPlace::HostVisible}) {
    GpuBuffer b(ctx, v.size() * sizeof(float), place);
    b.upload(v.data(), v.size() * sizeof(float));
    CHECK(download(b, v.size()) == v);
    CHECK_THROWS_AS(b.upload(v.data(), sizeof(float), b.size()), Error);
  }
  // Staged transfers (the discrete-GPU path), at an offset, and a shader reading the staged data.
  GpuBuffer staged(ctx, v.size() * sizeof(float), BufferPlace::DeviceLocal, /*allow_mapping=*/false);
  CHECK(staged.mapped() == nullptr);
  staged.upload(v.data(), v.size() * sizeof(float));
  staged.upload(v.data(), 10 * sizeof(float), 500 * sizeof(float));
  std::vector<float> want = v;
  std::copy(v.begin(), v.begin() + 10, want.begin() + 500);
  CHECK(download(staged, v.size()) == want);
  std::vector<float> part(7);
  staged.download(part.data(), 7 * sizeof(float), 503 * sizeof(float));
  CHECK(part == std::vector<float>(v.begin() + 3, v.begin() + 10));
  GpuBuffer doubled(ctx, v.size() * sizeof(float), BufferPlace::DeviceLocal, /*allow_mapping=*/false);
  CommandRecorder rec(ctx);
  vk.add(rec, staged, staged, doubled, static_cast<uint32_t>(v.size()), static_cast<uint32_t>(v.size()));
  rec.submit_and_wait();
  for (float& x : want) x += x;
  CHECK(download(doubled, v.size()) == want);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan validation errors are counted (so zero means zero)", "[vulkan]") {
  NEED_VULKAN();
  if (!ctx.validation_enabled()) UNICORN_SKIP("validation layer not installed");
  // A deliberately wrong sType: the layer reports VUID-VkFenceCreateInfo-sType-sType (expected on stderr).
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_EVENT_CREATE_INFO, nullptr, 0};
  VkFence fence = VK_NULL_HANDLE;
  if (ctx.fn().vkCreateFence(ctx.device(), &fi, nullptr, &fence) == VK_SUCCESS) {
    ctx.fn().vkDestroyFence(ctx.device(), fence, nullptr);
  }
  CHECK(ctx.validation_errors() > errors_before);
}

TEST_CASE("vulkan matvec matches the CPU reference for every weight type", "[vulkan]") {
  NEED_VULKAN();
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q8_0}) {
    check_matvec(ctx, vk, t, 37, 544, 2, 11);  // 17 chunks: fewer than the workgroup of 64
    check_matvec(ctx, vk, t, 5, 96, 1, 12);
  }
  // F32 at 16-byte aligned offsets takes the 32-lanes-per-row vec4 kernel: few rows, narrow rows, a tail of lanes.
  check_matvec(ctx, vk, DType::F32, 4, 2048, 1, 21, 0);
  check_matvec(ctx, vk, DType::F32, 45, 64, 3, 22, 16);
  check_matvec(ctx, vk, DType::F32, 9, 288, 2, 23, 32);
  for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    check_matvec(ctx, vk, t, 37, 512, 2, 13);
    check_matvec(ctx, vk, t, 3, 2560, 1, 14);  // 80 chunks: more than the workgroup, uneven share
    // 16-byte aligned (Q4_K's uvec4 path) and at 0; rows no multiple of 4; 1..16 super-blocks per row (two per
    // step plus a tail, lanes left idle); 3 blocks make Q6_K rows alternate word alignment; up to 7 tokens.
    check_matvec(ctx, vk, t, 37, 512, 2, 15, 16);
    check_matvec(ctx, vk, t, 3, 2560, 1, 16, 16);
    check_matvec(ctx, vk, t, 9, 768, 7, 17, 0);
    check_matvec(ctx, vk, t, 6, 256, 3, 18, 32);
    check_matvec(ctx, vk, t, 5, 4096, 1, 19, 16);
    check_matvec(ctx, vk, t, 11, 2304, 2, 20, 16);  // 9 blocks: two full steps of 8 and one tail
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan row kernels spread their workgroups over z past the x group limit", "[vulkan]") {
  NEED_VULKAN();
  // A vocabulary-sized head needs more workgroups than maxComputeWorkGroupCount[0] (65535 on lavapipe): the grid
  // continues in z. A limit of 3 groups sends every kernel of this family through that path, spare groups included.
  struct Restore {  // the suite may run under UNICORN_VK_MAX_GROUPS_X: leave its limit as it was
    VulkanKernels& vk;
    uint32_t limit;
    ~Restore() { vk.set_max_groups_x(limit); }
  } restore{vk, vk.max_groups_x()};
  auto run_both = [&](const std::function<std::vector<float>()>& once) {
    vk.set_max_groups_x(UINT32_MAX);
    const std::vector<float> whole = once();
    vk.set_max_groups_x(3);
    const std::vector<float> spread = once();
    CHECK(spread == whole);  // the same arithmetic, only the grid differs: bit-identical
  };
  vk.set_max_groups_x(3);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    check_matvec(ctx, vk, t, 37, 512, 2, 41);      // offset 12: the general kernel, Q4_K's one-row workgroups
    check_matvec(ctx, vk, t, 45, 512, 1, 42, 16);  // 16-byte aligned: the 32-lane-slice kernels
  }
  const uint32_t rows = 45, cols = 333, tokens = 2;
  const std::vector<float> w = random_floats(size_t(rows) * cols, 43), x = random_floats(size_t(tokens) * cols, 44);
  GpuBuffer wb = upload(ctx, w), xb = upload(ctx, x), yb(ctx, size_t(tokens) * rows * 4, BufferPlace::HostVisible);
  run_both([&] {
    CommandRecorder rec(ctx);
    vk.matvec_f32_any(rec, wb, rows, cols, xb, yb, tokens);
    rec.submit_and_wait();
    return download(yb, size_t(tokens) * rows);
  });
  const std::vector<float> wg = random_floats(size_t(rows) * 512, 45), wu = random_floats(size_t(rows) * 512, 46);
  const std::vector<uint8_t> qg = quantize_matrix(DType::Q4_K, wg, rows, 512), qu = quantize_matrix(DType::Q4_K, wu, rows, 512);
  GpuBuffer gb(ctx, qg.size(), BufferPlace::DeviceLocal), ub(ctx, qu.size(), BufferPlace::DeviceLocal);
  gb.upload(qg.data(), qg.size());
  ub.upload(qu.data(), qu.size());
  GpuBuffer x512 = upload(ctx, random_floats(size_t(tokens) * 512, 47, 0.2f));
  run_both([&] {
    CommandRecorder rec(ctx);
    vk.matvec_glu(rec, DType::Q4_K, gb, ub, rows, 512, x512, yb, tokens, GluActivation::Silu);
    rec.submit_and_wait();
    return download(yb, size_t(tokens) * rows);
  });
  const uint32_t n = 2000;  // 8 groups of 256
  GpuBuffer vb = upload(ctx, random_floats(n, 48, 40.0f)), sb(ctx, n * 4, BufferPlace::HostVisible);
  run_both([&] {
    CommandRecorder rec(ctx);
    vk.unary(rec, vb, sb, n, UnaryOp::SoftCap, 30.0f);
    rec.submit_and_wait();
    return download(sb, n);
  });
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan Q8_0 matvec on integer dot products matches the CPU reference", "[vulkan]") {
  NEED_VULKAN();
  const bool by_default = vk.matvec_int_dot(DType::Q8_0, 32);
  vk.set_matvec_int_dot(true);
  if (!vk.matvec_int_dot(DType::Q8_0, 64)) {
    WARN("no shaderIntegerDotProduct on " << ctx.device_name() << ": the integer-dot mat-vec is not tested");
    return;
  }
  // x rounded to int8 per 32 values (half a step of max |x| / 127 each), the products summed exactly: the error is
  // at most sum |w| * max |x| / 254 per block, about 8e-3 of sum |w x| for uniform x; bound 1e-2.
  const auto check = [&](uint32_t rows, uint32_t cols, uint32_t n_tokens, uint32_t seed, uint64_t offset) {
    check_weight_product(
        ctx, DType::Q8_0, rows, cols, n_tokens, seed,
        [&](CommandRecorder& rec, const GpuBuffer& w, uint64_t w_offset, const GpuBuffer& x, const GpuBuffer& y) {
          vk.matvec(rec, DType::Q8_0, w, w_offset, rows, cols, x, y, n_tokens);
        },
        offset, 1e-2);
  };
  check(37, 544, 2, 31, 12);   // 17 blocks per row: fewer than the 32 lanes; quants at odd half-words in turn
  check(5, 2048, 3, 32, 4);    // 64 blocks: two per lane
  check(64, 96, 1, 33, 0);     // 3 blocks, rows a multiple of the 4 per workgroup
  check(9, 4160, 7, 34, 16);   // 130 blocks (lanes uneven), 7 tokens
  // Inside a concurrent group (the model's q/k/v): two products of different inputs, no barrier between them.
  const uint32_t rows = 40, cols = 256;
  const std::vector<float> wf = random_floats(size_t(rows) * cols, 35), xa = random_floats(cols, 36),
                           xb = random_floats(cols, 37, 3.0f);
  const std::vector<uint8_t> wq = quantize_matrix(DType::Q8_0, wf, rows, cols);
  GpuBuffer w(ctx, wq.size(), BufferPlace::DeviceLocal);
  w.upload(wq.data(), wq.size());
  GpuBuffer xa_b = upload(ctx, xa), xb_b = upload(ctx, xb);
  GpuBuffer ya(ctx, rows * 4, BufferPlace::HostVisible), yb(ctx, rows * 4, BufferPlace::HostVisible);
  CommandRecorder rec(ctx);
  rec.begin_concurrent();
  vk.matvec(rec, DType::Q8_0, w, 0, rows, cols, xa_b, ya);
  vk.matvec(rec, DType::Q8_0, w, 0, rows, cols, xb_b, yb);
  rec.end_concurrent();
  rec.submit_and_wait();
  for (const auto& [xv, yv] : {std::pair{&xa, &ya}, std::pair{&xb, &yb}}) {
    std::vector<float> want(rows);
    kernels::matmul_reference(kernels::WeightMatrix{DType::Q8_0, wq.data(), rows, cols}, xv->data(), 1, want.data(),
                              nullptr);
    const std::vector<float> got = download(*yv, rows);
    std::vector<float> wrow(cols);
    for (uint32_t r = 0; r < rows; ++r) {
      quant::dequantize_row(DType::Q8_0, wq.data() + size_t(r) * (cols / 32) * 34, wrow.data(), cols);
      double scale = 0;
      for (uint32_t c = 0; c < cols; ++c) scale += std::fabs(double(wrow[c]) * (*xv)[c]);
      REQUIRE(std::fabs(double(got[r]) - want[r]) <= 1e-2 * scale);
    }
  }
  vk.set_matvec_int_dot(by_default);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan get_rows returns the dequantized rows for every weight type", "[vulkan]") {
  NEED_VULKAN();
  const std::vector<uint32_t> ids = {5, 0, 36, 5, 17};
  GpuBuffer idb(ctx, ids.size() * sizeof(uint32_t), BufferPlace::DeviceLocal);
  idb.upload(ids.data(), ids.size() * sizeof(uint32_t));
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K}) {
    const uint32_t rows = 37, cols = dtype_traits(t).block_elems == 256 ? 2560 : 2080;  // > 64 chunks per row
    INFO(dtype_name(t));
    const std::vector<uint8_t> wq = quantize_matrix(t, random_floats(size_t(rows) * cols, 101), rows, cols);
    std::vector<uint8_t> wbuf(8 + wq.size());
    std::copy(wq.begin(), wq.end(), wbuf.begin() + 8);
    GpuBuffer w(ctx, wbuf.size(), BufferPlace::DeviceLocal);
    w.upload(wbuf.data(), wbuf.size());
    GpuBuffer out(ctx, ids.size() * cols * sizeof(float), BufferPlace::HostVisible);
    CommandRecorder rec(ctx);
    vk.get_rows(rec, t, w, 8, rows, cols, idb, static_cast<uint32_t>(ids.size()), out);
    rec.submit_and_wait();
    std::vector<float> want(ids.size() * cols);
    const uint64_t row_bytes = dtype_row_bytes(t, cols);
    for (size_t i = 0; i < ids.size(); ++i) {
      quant::dequantize_row(t, wq.data() + ids[i] * row_bytes, want.data() + i * cols, cols);
    }
    check_close(download(out, want.size()), want, 1e-6f, 1e-7f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan matvec rejects bad shapes", "[vulkan]") {
  NEED_VULKAN();
  GpuBuffer w(ctx, 1024, BufferPlace::DeviceLocal);
  GpuBuffer x(ctx, 1024, BufferPlace::DeviceLocal);
  CommandRecorder rec(ctx);
  CHECK_THROWS_AS(vk.matvec(rec, DType::Q4_K, w, 0, 1, 100, x, x), Error);  // not a block multiple
  CHECK_THROWS_AS(vk.matvec(rec, DType::F32, w, 0, 2, 256, x, x), Error);   // runs past the buffer
  CHECK_THROWS_AS(vk.matvec(rec, DType::I32, w, 0, 1, 32, x, x), Error);    // unsupported type
  CHECK(rec.pending() == 0);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan rmsnorm matches kernels::rmsnorm in all weight modes", "[vulkan]") {
  NEED_VULKAN();
  for (uint32_t n : {333u, 2051u}) {  // head-sized and hidden-sized rows take different workgroup sizes
  INFO("n " << n);
  const uint32_t rows = 3;
  const std::vector<float> x = random_floats(size_t(n) * rows, 21, 3.0f);
  const std::vector<float> w = random_floats(n, 22);
  GpuBuffer xb = upload(ctx, x), wb = upload(ctx, w);
  GpuBuffer out(ctx, x.size() * sizeof(float), BufferPlace::HostVisible);
  for (RmsWeight mode : {RmsWeight::None, RmsWeight::Weight, RmsWeight::OnePlusWeight}) {
    CommandRecorder rec(ctx);
    vk.rmsnorm(rec, xb, &wb, out, n, rows, 1e-6f, mode);
    rec.submit_and_wait();
    std::vector<float> want(x.size());
    for (uint32_t r = 0; r < rows; ++r) {
      kernels::rmsnorm(x.data() + size_t(r) * n, mode == RmsWeight::None ? nullptr : w.data(), n, 1e-6f,
                       mode == RmsWeight::OnePlusWeight, want.data() + size_t(r) * n);
    }
    INFO("mode " << static_cast<int>(mode));
    check_close(download(out, x.size()), want, 1e-5f, 1e-6f);
  }
  // In place (out == x).
  CommandRecorder rec(ctx);
  vk.rmsnorm(rec, xb, &wb, xb, n, rows, 1e-6f, RmsWeight::Weight);
  rec.submit_and_wait();
  std::vector<float> want(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    kernels::rmsnorm(x.data() + size_t(r) * n, w.data(), n, 1e-6f, false, want.data() + size_t(r) * n);
  }
  check_close(download(xb, x.size()), want, 1e-5f, 1e-6f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan softmax matches kernels::softmax, masked entries and rows included", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t n = 1001, rows = 3;
  std::vector<float> x = random_floats(size_t(n) * rows, 31, 8.0f);
  const float ninf = -std::numeric_limits<float>::infinity();
  for (uint32_t i = 0; i < n; i += 7) x[n + i] = ninf;  // row 1: partly masked
  for (uint32_t i = 0; i < n; ++i) x[2 * n + i] = ninf;  // row 2: fully masked
  GpuBuffer xb = upload(ctx, x);
  CommandRecorder rec(ctx);
  vk.softmax(rec, xb, n, rows);
  rec.submit_and_wait();
  std::vector<float> want = x;
  for (uint32_t r = 0; r < rows; ++r) kernels::softmax(want.data() + size_t(r) * n, n);
  const std::vector<float> got = download(xb, x.size());
  check_close(got, want, 1e-5f, 1e-9f);
  for (uint32_t i = 0; i < n; i += 7) CHECK(got[n + i] == 0.0f);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan gated activations match kernels::swiglu and geglu_tanh", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t n = 1234;
  std::vector<float> gate = random_floats(n, 41, 4.0f);
  gate[0] = 60.0f;  // large |u|: tanh must stay finite
  gate[1] = -60.0f;
  const std::vector<float> up = random_floats(n, 42, 2.0f);
  GpuBuffer gb = upload(ctx, gate), ub = upload(ctx, up);
  GpuBuffer out(ctx, n * sizeof(float), BufferPlace::HostVisible);
  for (GluActivation act : {GluActivation::Silu, GluActivation::GeluTanh}) {
    CommandRecorder rec(ctx);
    vk.glu(rec, gb, ub, out, n, act);
    rec.submit_and_wait();
    std::vector<float> want(n);
    if (act == GluActivation::Silu) {
      kernels::swiglu(gate.data(), up.data(), n, want.data());
    } else {
      kernels::geglu_tanh(gate.data(), up.data(), n, want.data());
    }
    INFO("activation " << static_cast<int>(act));
    check_close(download(out, n), want, 2e-5f, 1e-6f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan unary ops: scale, soft-cap, SiLU, GELU-tanh", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t n = 777;
  std::vector<float> x = random_floats(n, 91, 40.0f);
  x[0] = 1e4f;  // saturating soft-cap and activations
  x[1] = -1e4f;
  GpuBuffer xb = upload(ctx, x);
  GpuBuffer out(ctx, n * sizeof(float), BufferPlace::HostVisible);
  for (UnaryOp op : {UnaryOp::Scale, UnaryOp::SoftCap, UnaryOp::Silu, UnaryOp::GeluTanh}) {
    CommandRecorder rec(ctx);
    const float param = op == UnaryOp::Scale ? 0.125f : 30.0f;
    vk.unary(rec, xb, out, n, op, param);
    rec.submit_and_wait();
    std::vector<float> want(n);
    switch (op) {
      case UnaryOp::Scale:
        want = x;
        kernels::scale(want.data(), n, param);
        break;
      case UnaryOp::SoftCap:
        for (uint32_t i = 0; i < n; ++i) want[i] = float(param * std::tanh(double(x[i]) / param));
        break;
      case UnaryOp::Silu: kernels::silu(x.data(), n, want.data()); break;
      case UnaryOp::GeluTanh: kernels::gelu_tanh(x.data(), n, want.data()); break;
    }
    INFO("op " << static_cast<int>(op));
    check_close(download(out, n), want, 2e-5f, 1e-5f);
  }
  CommandRecorder rec(ctx);
  CHECK_THROWS_AS(vk.unary(rec, xb, out, n, UnaryOp::SoftCap, 0.0f), Error);
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan add and mul, with and without broadcast", "[vulkan]") {
  NEED_VULKAN();
  const uint32_t n = 1000;
  const std::vector<float> a = random_floats(n, 51), b = random_floats(n, 52);
  GpuBuffer ab = upload(ctx, a), bb = upload(ctx, b);
  GpuBuffer out(ctx, n * sizeof(float), BufferPlace::HostVisible);
  for (uint32_t b_len : {n, 10u}) {
    for (int op = 0; op < 2; ++op) {
      CommandRecorder rec(ctx);
      if (op == 0) vk.add(rec, ab, bb, out, n, b_len);
      else vk.mul(rec, ab, bb, out, n, b_len);
      rec.submit_and_wait();
      std::vector<float> want(n);
      for (uint32_t i = 0; i < n; ++i) want[i] = op == 0 ? a[i] + b[i % b_len] : a[i] * b[i % b_len];
      INFO("op " << op << " b_len " << b_len);
      CHECK(download(out, n) == want);  // one float op each: exact
    }
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan rope matches the scalar rotation, NEOX and interleaved", "[vulkan]") {
  NEED_VULKAN();
  for (uint32_t head_dim : {64u, 80u}) {
    const uint32_t n_heads = 3, half = head_dim / 2, positions = 8, pos = 5;
    // Table laid out like the CPU runtime's: per position, half cosines then half sines.
    std::vector<float> table(size_t(positions) * head_dim);
    for (uint32_t p = 0; p < positions; ++p) {
      for (uint32_t i = 0; i < half; ++i) {
        const float inv = 1.0f / std::pow(10000.0f, 2.0f * i / head_dim);
        table[size_t(p) * head_dim + i] = std::cos(p * inv);
        table[size_t(p) * head_dim + half + i] = std::sin(p * inv);
      }
    }
    const std::vector<float> x = random_floats(size_t(n_heads) * head_dim, 61 + head_dim);
    GpuBuffer tb = upload(ctx, table);
    for (bool interleaved : {false, true}) {
      GpuBuffer xb = upload(ctx, x);
      CommandRecorder rec(ctx);
      vk.rope(rec, xb, tb, pos * head_dim, n_heads, head_dim, interleaved);
      rec.submit_and_wait();
      std::vector<float> want = x;
      const float* c = table.data() + size_t(pos) * head_dim;
      const float* s = c + half;
      for (uint32_t h = 0; h < n_heads; ++h) {
        float* v = want.data() + size_t(h) * head_dim;
        for (uint32_t i = 0; i < half; ++i) {
          const uint32_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
          const float a = v[ia], b = v[ib];
          v[ia] = a * c[i] - b * s[i];
          v[ib] = b * c[i] + a * s[i];
        }
      }
      INFO("head_dim " << head_dim << " interleaved " << interleaved);
      check_close(download(xb, x.size()), want, 1e-6f, 1e-6f);
    }
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan decode attention matches a double-precision reference (GQA, window, softcap)", "[vulkan]") {
  NEED_VULKAN();
  struct Case {
    uint32_t n_heads, n_kv_heads, head_dim, positions, kv_start, kv_len;
    float softcap;
  };
  for (const Case& c : {Case{4, 2, 64, 37, 0, 37, 0.0f}, Case{6, 2, 80, 300, 45, 211, 0.0f},
                        Case{3, 3, 48, 20, 3, 17, 5.0f}, Case{2, 1, 32, 1, 0, 1, 0.0f},
                        // Gemma-sized heads; 48 vec4 columns leave part of the workgroup idle; head_dim % 4 != 0
                        // takes the scalar kernel.
                        Case{8, 2, 256, 70, 5, 61, 0.0f}, Case{4, 4, 192, 33, 0, 33, 0.0f},
                        Case{2, 1, 30, 25, 0, 25, 3.0f},
                        // Past attn_decode_v4's 1024 shared-memory scores: the scores buffer instead.
                        Case{2, 1, 64, 1300, 100, 1200, 2.0f}, Case{2, 2, 256, 1100, 0, 1025, 0.0f},
                        Case{2, 1, 2, 9, 0, 9, 0.0f}}) {  // a head narrower than one vec4
    INFO("heads " << c.n_heads << "/" << c.n_kv_heads << " dim " << c.head_dim << " window [" << c.kv_start << ", +"
                  << c.kv_len << ") softcap " << c.softcap);
    const size_t kv_floats = size_t(c.positions) * c.n_kv_heads * c.head_dim;
    const std::vector<float> q = random_floats(size_t(c.n_heads) * c.head_dim, 81, 2.0f);
    const std::vector<float> k = random_floats(kv_floats, 82, 2.0f), v = random_floats(kv_floats, 83);
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    GpuBuffer qb = upload(ctx, q), kb = upload(ctx, k), vb = upload(ctx, v);
    GpuBuffer scores(ctx, size_t(c.n_heads) * c.kv_len * sizeof(float), BufferPlace::DeviceLocal);
    GpuBuffer out(ctx, q.size() * sizeof(float), BufferPlace::HostVisible);
    CommandRecorder rec(ctx);
    vk.attention_decode(rec, qb, kb, vb, scores, out, c.n_heads, c.n_kv_heads, c.head_dim, c.kv_start, c.kv_len,
                        scale, c.softcap);
    rec.submit_and_wait();

    std::vector<float> want(q.size());
    const uint32_t group = c.n_heads / c.n_kv_heads;
    for (uint32_t h = 0; h < c.n_heads; ++h) {
      const uint32_t kvh = h / group;
      std::vector<double> w(c.kv_len);
      double m = -1e300, sum = 0;
      for (uint32_t t = 0; t < c.kv_len; ++t) {
        const float* kr = k.data() + (size_t(c.kv_start + t) * c.n_kv_heads + kvh) * c.head_dim;
        double s = 0;
        for (uint32_t d = 0; d < c.head_dim; ++d) s += double(q[size_t(h) * c.head_dim + d]) * kr[d];
        s *= scale;
        if (c.softcap > 0) s = c.softcap * std::tanh(s / c.softcap);
        w[t] = s;
        m = std::max(m, s);
      }
      for (double& x : w) sum += (x = std::exp(x - m));
      for (uint32_t d = 0; d < c.head_dim; ++d) {
        double acc = 0;
        for (uint32_t t = 0; t < c.kv_len; ++t) {
          acc += w[t] * v[(size_t(c.kv_start + t) * c.n_kv_heads + kvh) * c.head_dim + d];
        }
        want[size_t(h) * c.head_dim + d] = float(acc / sum);
      }
    }
    check_close(download(out, q.size()), want, 1e-4f, 1e-5f);
  }
  CHECK_NO_VALIDATION_ERRORS();
}

TEST_CASE("vulkan recorder batches dependent ops into one submission", "[vulkan]") {
  NEED_VULKAN();
  // rmsnorm -> gate and up matvecs -> SiLU gate -> residual add, recorded once, submitted once.
  const uint32_t dim = 256, ff = 45;
  const std::vector<float> x = random_floats(dim, 71, 2.0f), norm_w = random_floats(dim, 72);
  const std::vector<float> wg = random_floats(size_t(ff) * dim, 73), wu = random_floats(size_t(ff) * dim, 74);
  const std::vector<uint8_t> qg = quantize_matrix(DType::Q8_0, wg, ff, dim);
  const std::vector<uint8_t> qu = quantize_matrix(DType::Q4_K, wu, ff, dim);
  const std::vector<float> resid = random_floats(ff, 75);
  GpuBuffer xb = upload(ctx, x), nwb = upload(ctx, norm_w), rb = upload(ctx, resid);
  GpuBuffer gq(ctx, qg.size(), BufferPlace::DeviceLocal), uq(ctx, qu.size(), BufferPlace::DeviceLocal);
  gq.upload(qg.data(), qg.size());
  uq.upload(qu.data(), qu.size());
  GpuBuffer normed(ctx, dim * sizeof(float), BufferPlace::DeviceLocal);
  GpuBuffer g(ctx, ff * sizeof(float), BufferPlace::DeviceLocal), u(ctx, ff * sizeof(float), BufferPlace::DeviceLocal);
  GpuBuffer out(ctx, ff * sizeof(float), BufferPlace::HostVisible);

  CommandRecorder rec(ctx, GpuTiming::PerDispatch);
  const bool int_dot = vk.matvec_int_dot(DType::Q8_0, dim);
  vk.set_matvec_int_dot(false);  // the float Q8_0 mat-vec, whose label is checked below
  vk.rmsnorm(rec, xb, &nwb, normed, dim, 1, 1e-5f, RmsWeight::Weight);
  vk.matvec(rec, DType::Q8_0, gq, 0, ff, dim, normed, g);
  vk.matvec(rec, DType::Q4_K, uq, 0, ff, dim, normed, u);
  vk.glu(rec, g, u, g, ff, GluActivation::Silu);
  vk.add(rec, g, rb, out, ff, ff);
  CHECK(rec.pending() == 5);
  rec.submit_and_wait();
  CHECK(rec.pending() == 0);
  if (ctx.has_timestamps()) {
    REQUIRE(rec.timings().size() == 5);
    CHECK(rec.timings()[1].label == "matvec_q8_0");
    for (const DispatchTime& t : rec.timings()) CHECK(t.ms >= 0.0);
  }

  std::vector<float> n_cpu(dim), g_cpu(ff), u_cpu(ff), want(ff);
  kernels::rmsnorm(x.data(), norm_w.data(), dim, 1e-5f, false, n_cpu.data());
  kernels::matmul_reference(kernels::WeightMatrix{DType::Q8_0, qg.data(), ff, dim}, n_cpu.data(), 1, g_cpu.data(),
                            nullptr);
  kernels::matmul_reference(kernels::WeightMatrix{DType::Q4_K, qu.data(), ff, dim}, n_cpu.data(), 1, u_cpu.data(),
                            nullptr);
  kernels::swiglu(g_cpu.data(), u_cpu.data(), ff, want.data());
  kernels::add(want.data(), resid.data(), ff, want.data());
  check_close(download(out, ff), want, 1e-4f, 1e-4f);

  // The recorder is reusable after a submission.
  vk.add(rec, g, rb, out, ff, ff);
  rec.submit_and_wait();
  vk.set_matvec_int_dot(int_dot);
  CHECK_NO_VALIDATION_ERRORS();
}

#else

TEST_CASE("vulkan ops", "[vulkan]") { UNICORN_SKIP("built without Vulkan (UNICORN_HAVE_VULKAN undefined)"); }

#endif
