#pragma once
// Shared by the Vulkan op tests (test_vk_ops.cpp, test_vk_prefill.cpp, ...): one validated context per test binary,
// the skip-when-no-device guard, random non-zero inputs, buffer round trips, tolerance checks, weight quantization.
#ifdef UNICORN_HAVE_VULKAN
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/half.h"
#include "base/error.h"
#include "hal/vk_context.h"
#include "hal/vk_kernels.h"
#include "hal/vk_recorder.h"
#include "kernels/matmul.h"
#include "quant/quant.h"
#include "tests/test_util.h"

namespace unicorn::test {

struct VkFixture {
  std::unique_ptr<hal::VulkanContext> ctx;
  std::unique_ptr<hal::VulkanKernels> kernels;
  std::string why_not;
};

// One context for the whole binary (inline: one instance across translation units): creating it under validation
// takes seconds on lavapipe.
inline VkFixture& vk_fixture() {
  static VkFixture f = [] {
    VkFixture v;
    setenv("UNICORN_VK_VALIDATE", "1", 1);
    try {
      v.ctx = hal::VulkanContext::create("auto");
      v.kernels = std::make_unique<hal::VulkanKernels>(*v.ctx);
    } catch (const Error& e) {
      v.why_not = e.what();
    }
    return v;
  }();
  return f;
}

// Uniform in [-scale, scale] with |v| >= scale / 100: never zero.
inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) {
    float r = u(rng);
    if (std::fabs(r) < 0.01f) r = r < 0 ? -0.01f - r : 0.01f + r;
    x = r * scale;
  }
  return v;
}

inline hal::GpuBuffer upload(hal::VulkanContext& ctx, const std::vector<float>& v) {
  hal::GpuBuffer b(ctx, v.size() * sizeof(float), hal::BufferPlace::DeviceLocal);
  b.upload(v.data(), v.size() * sizeof(float));
  return b;
}

inline std::vector<float> download(const hal::GpuBuffer& b, size_t n) {
  std::vector<float> v(n);
  b.download(v.data(), n * sizeof(float));
  return v;
}

// An F16 cache buffer holding v rounded to F16; rounded gets the floats the kernels will read.
inline hal::GpuBuffer upload_f16(hal::VulkanContext& ctx, const std::vector<float>& v, std::vector<float>& rounded) {
  std::vector<uint16_t> h(v.size());
  rounded.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) rounded[i] = f16_to_f32(h[i] = f32_to_f16(v[i]));
  hal::GpuBuffer b(ctx, h.size() * 2, hal::BufferPlace::HostVisible);
  b.upload(h.data(), h.size() * 2);
  return b;
}
inline std::vector<float> download_f16(const hal::GpuBuffer& b, size_t n) {
  std::vector<uint16_t> h(n);
  b.download(h.data(), n * 2);
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = f16_to_f32(h[i]);
  return f;
}
// |got - want| <= atol + rtol * |want| for every element; reports the first failure.
inline void check_close(const std::vector<float>& got, const std::vector<float>& want, float rtol, float atol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      FAIL("element " << i << ": got " << got[i] << ", want " << want[i]);
    }
  }
}

// The same against a double-precision reference.
inline void check_close(const std::vector<float>& got, const std::vector<double>& want, double rtol, double atol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      FAIL("element " << i << ": got " << got[i] << ", want " << want[i]);
    }
  }
}

inline std::vector<uint8_t> quantize_matrix(DType t, const std::vector<float>& w, uint32_t rows, uint32_t cols) {
  const uint64_t row_bytes = dtype_row_bytes(t, cols);
  std::vector<uint8_t> out(row_bytes * rows);
  for (uint32_t r = 0; r < rows; ++r) {
    quant::quantize_row(t, w.data() + size_t(r) * cols, out.data() + r * row_bytes, cols);
  }
  return out;
}

// One product of a rows x cols weight matrix of type t with n_tokens random activation rows, recorded by
// record(rec, w, w_offset, x, y), checked against kernels::matmul_reference. W sits at byte `offset` of its buffer, as
// a tensor inside a bigger weight buffer would (and may end mid-word: GpuBuffer rounds up). Tolerance per output:
// 1e-5 * sum_c |w_rc x_tc| + 1e-6: fp32 accumulation against a double reference on the same dequantized weights,
// while a wrong element, block or token is off by O(|w x|). y starts as NaN, so an output never written fails.
template <typename Record>
void check_weight_product(hal::VulkanContext& ctx, DType t, uint32_t rows, uint32_t cols, uint32_t n_tokens,
                          uint32_t seed, const Record& record, uint64_t offset = 12, double rel_tol = 1e-5) {
  INFO(dtype_name(t) << " " << rows << "x" << cols << " tokens=" << n_tokens << " offset=" << offset);
  const std::vector<uint8_t> wq = quantize_matrix(t, random_floats(size_t(rows) * cols, seed), rows, cols);
  std::vector<uint8_t> wbuf(offset + wq.size(), 0xA5);
  std::copy(wq.begin(), wq.end(), wbuf.begin() + offset);
  hal::GpuBuffer w(ctx, wbuf.size(), hal::BufferPlace::DeviceLocal);
  w.upload(wbuf.data(), wbuf.size());
  const std::vector<float> x = random_floats(size_t(n_tokens) * cols, seed + 1);
  hal::GpuBuffer xb = upload(ctx, x);
  hal::GpuBuffer yb = upload(ctx, std::vector<float>(size_t(n_tokens) * rows, std::numeric_limits<float>::quiet_NaN()));
  hal::CommandRecorder rec(ctx);
  record(rec, w, offset, xb, yb);
  rec.submit_and_wait();
  const std::vector<float> got = download(yb, size_t(n_tokens) * rows);

  std::vector<float> want(got.size());
  kernels::matmul_reference(kernels::WeightMatrix{t, wq.data(), rows, cols}, x.data(), n_tokens, want.data(), nullptr);
  std::vector<float> wd(size_t(rows) * cols);
  quant::dequantize_row(t, wq.data(), wd.data(), int64_t(rows) * cols);
  for (uint32_t tk = 0; tk < n_tokens; ++tk) {
    for (uint32_t r = 0; r < rows; ++r) {
      double mag = 0;
      for (uint32_t c = 0; c < cols; ++c) mag += std::fabs(double(wd[size_t(r) * cols + c]) * x[size_t(tk) * cols + c]);
      const size_t i = size_t(tk) * rows + r;
      const double tol = rel_tol * mag + 1e-6;
      if (!(std::fabs(double(got[i]) - want[i]) <= tol)) {
        FAIL("token " << tk << " row " << r << ": got " << got[i] << ", want " << want[i] << " (tol " << tol << ")");
      }
    }
  }
}

// Selects the prefill attention kernel (attn_prefill when v1, else attn_prefill_v2 where it applies) for a scope
// and restores the previous choice when it ends (the kernels object is shared by the tests).
struct PrefillKernelScope {
  hal::VulkanKernels& vk;
  const bool was;
  PrefillKernelScope(hal::VulkanKernels& k, bool v1) : vk(k), was(k.attention_prefill_v1()) {
    vk.set_attention_prefill_v1(v1);
  }
  ~PrefillKernelScope() { vk.set_attention_prefill_v1(was); }
  PrefillKernelScope(const PrefillKernelScope&) = delete;
  PrefillKernelScope& operator=(const PrefillKernelScope&) = delete;
};

}  // namespace unicorn::test

// Binds fx, ctx, vk and errors_before in the test, or skips it when there is no usable Vulkan device.
#define NEED_VULKAN()                                                           \
  ::unicorn::test::VkFixture& fx = ::unicorn::test::vk_fixture();               \
  if (!fx.ctx) UNICORN_SKIP("no usable Vulkan device: " << fx.why_not);         \
  ::unicorn::hal::VulkanContext& ctx = *fx.ctx;                                 \
  ::unicorn::hal::VulkanKernels& vk = *fx.kernels;                              \
  const uint64_t errors_before = ctx.validation_errors();                      \
  (void)vk

#define CHECK_NO_VALIDATION_ERRORS() CHECK(ctx.validation_errors() == errors_before)

#endif
