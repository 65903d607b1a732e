// Gemma 3n kernels of VulkanKernels: gaussian top-k, AltUp predict/correct, magnitude matching, per-layer inputs.
#include "hal/vk_kernels.h"

#ifdef UNICORN_HAVE_VULKAN
#include <cmath>

#include "base/error.h"

namespace unicorn::hal {

namespace {

constexpr uint32_t kRowWg = 128;
constexpr uint32_t kElemWg = 256;
constexpr uint32_t kMaxStreams = 8;  // altup.glsl's MAX_N

void need_floats(const GpuBuffer& b, uint64_t n, const char* what) {
  if (b.size() < n * sizeof(float)) fail(what, ": buffer of ", b.size(), " bytes holds fewer than ", n, " floats");
}

void need_32bit(uint64_t floats, const char* what) {
  if (floats > 0xffffffffull) fail(what, ": ", floats, " floats exceed 32-bit indexing");
}

struct TopkPush {
  uint32_t n;
  float multiplier;
};
struct AltupPush {
  uint32_t n, nn, stride, active;
  float eps;
};
struct RmsMatchPush {
  uint32_t n;
  float floor_ms;
  uint32_t accumulate;
};
struct PliPush {
  uint32_t seg, n_layers;
  float eps, proj_scale, tok_scale, combine;
};
struct GatePush {
  uint32_t seg, n_tokens, pli_stride, pli_offset;
};

// Shapes shared by altup_predict / altup_correct; returns the floats a stream buffer must hold.
uint64_t check_altup(const char* op, uint32_t hidden, uint32_t n_streams, uint32_t n_tokens, uint32_t stride,
                     uint32_t active, const GpuBuffer& norm, const GpuBuffer& router, const GpuBuffer& coefs,
                     uint64_t coef_floats) {
  if (hidden == 0 || n_tokens == 0 || n_streams == 0 || n_streams > kMaxStreams || active >= n_streams) {
    fail("Vulkan ", op, ": bad shape (hidden ", hidden, ", ", n_streams, " streams, ", n_tokens, " tokens, active ",
         active, ")");
  }
  if (uint64_t(stride) < uint64_t(n_tokens) * hidden) {
    fail("Vulkan ", op, ": stream stride ", stride, " < ", n_tokens, " tokens x ", hidden);
  }
  const uint64_t stream_floats = uint64_t(n_streams - 1) * stride + uint64_t(n_tokens) * hidden;
  need_32bit(stream_floats, op);
  need_floats(norm, hidden, "Vulkan AltUp router norm");
  need_floats(router, uint64_t(n_streams) * hidden, "Vulkan AltUp router");
  need_floats(coefs, coef_floats, "Vulkan AltUp coefficients");
  return stream_floats;
}

}  // namespace

void VulkanKernels::gaussian_topk(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& out, uint32_t n,
                                  uint32_t n_rows, float multiplier) {
  if (n == 0 || n_rows == 0) fail("Vulkan gaussian top-k: empty shape");
  if (!std::isfinite(multiplier)) fail("Vulkan gaussian top-k: multiplier ", multiplier, " is not finite");
  need_32bit(uint64_t(n) * n_rows, "Vulkan gaussian top-k");
  need_floats(x, uint64_t(n) * n_rows, "Vulkan gaussian top-k x");
  need_floats(out, uint64_t(n) * n_rows, "Vulkan gaussian top-k out");
  const TopkPush push{n, multiplier};
  rec.dispatch(pipeline("gaussian_topk", 2, sizeof(TopkPush), kRowWg), {x, out}, push, n_rows, 1, 1,
               "gaussian_topk");
}

void VulkanKernels::altup_predict(CommandRecorder& rec, const GpuBuffer& streams, const GpuBuffer& router_norm,
                                  const GpuBuffer& router, const GpuBuffer& predict, const GpuBuffer& pred,
                                  uint32_t hidden, uint32_t n_streams, uint32_t n_tokens, uint32_t stream_stride,
                                  uint32_t active, float eps) {
  const uint64_t nn = n_streams;
  const uint64_t floats = check_altup("AltUp predict", hidden, n_streams, n_tokens, stream_stride, active, router_norm,
                                      router, predict, nn * nn * nn);
  need_floats(streams, floats, "Vulkan AltUp predict streams");
  need_floats(pred, floats, "Vulkan AltUp predict out");
  const AltupPush push{hidden, n_streams, stream_stride, active, eps};
  rec.dispatch(spec_pipeline("altup_predict", 5, sizeof(AltupPush), {kRowWg, kMaxStreams}),
               {streams, router_norm, router, predict, pred}, push, n_tokens, 1, 1, "altup_predict");
}

void VulkanKernels::altup_correct(CommandRecorder& rec, const GpuBuffer& pred, const GpuBuffer& act,
                                  const GpuBuffer& router_norm, const GpuBuffer& router, const GpuBuffer& correct,
                                  const GpuBuffer& out, uint32_t hidden, uint32_t n_streams, uint32_t n_tokens,
                                  uint32_t stream_stride, uint32_t active, float eps) {
  const uint64_t nn = n_streams;
  const uint64_t floats = check_altup("AltUp correct", hidden, n_streams, n_tokens, stream_stride, active, router_norm,
                                      router, correct, nn * nn);
  need_floats(pred, floats, "Vulkan AltUp correct pred");
  need_floats(out, floats, "Vulkan AltUp correct out");
  need_floats(act, uint64_t(n_tokens) * hidden, "Vulkan AltUp correct act");
  if (&act == &out) fail("Vulkan AltUp correct: out aliases act");
  const AltupPush push{hidden, n_streams, stream_stride, active, eps};
  rec.dispatch(spec_pipeline("altup_correct", 6, sizeof(AltupPush), {kRowWg, kMaxStreams}),
               {pred, act, router_norm, router, correct, out}, push, n_tokens, 1, 1, "altup_correct");
}

void VulkanKernels::rms_match(CommandRecorder& rec, const GpuBuffer& x, const GpuBuffer& ref, const GpuBuffer& out,
                              uint32_t n, uint32_t n_rows, float floor, bool accumulate) {
  if (n == 0 || n_rows == 0) fail("Vulkan rms_match: empty shape");
  if (!(floor > 0)) fail("Vulkan rms_match: floor must be > 0, got ", floor);
  need_32bit(uint64_t(n) * n_rows, "Vulkan rms_match");
  need_floats(x, uint64_t(n) * n_rows, "Vulkan rms_match x");
  need_floats(ref, uint64_t(n) * n_rows, "Vulkan rms_match ref");
  need_floats(out, uint64_t(n) * n_rows, "Vulkan rms_match out");
  const RmsMatchPush push{n, floor, accumulate ? 1u : 0u};
  rec.dispatch(pipeline("rms_match", 3, sizeof(RmsMatchPush), kRowWg), {x, ref, out}, push, n_rows, 1, 1,
               "rms_match");
}

void VulkanKernels::per_layer_inputs(CommandRecorder& rec, const GpuBuffer& proj, const GpuBuffer& tok,
                                     const GpuBuffer& norm, const GpuBuffer& out, uint32_t per_layer_dim,
                                     uint32_t n_layers, uint32_t n_tokens, float eps, float proj_scale,
                                     float tok_scale, float combine) {
  if (per_layer_dim == 0 || n_layers == 0 || n_tokens == 0) fail("Vulkan per-layer inputs: empty shape");
  const uint64_t floats = uint64_t(per_layer_dim) * n_layers * n_tokens;
  need_32bit(floats, "Vulkan per-layer inputs");
  need_floats(proj, floats, "Vulkan per-layer inputs proj");
  need_floats(tok, floats, "Vulkan per-layer inputs tok");
  need_floats(out, floats, "Vulkan per-layer inputs out");
  need_floats(norm, per_layer_dim, "Vulkan per-layer inputs norm");
  const PliPush push{per_layer_dim, n_layers, eps, proj_scale, tok_scale, combine};
  rec.dispatch(pipeline("per_layer_inputs", 4, sizeof(PliPush), kRowWg), {proj, tok, norm, out}, push, n_layers,
               n_tokens, 1, "per_layer_inputs");
}

void VulkanKernels::per_layer_gate(CommandRecorder& rec, const GpuBuffer& gate, const GpuBuffer& pli,
                                   const GpuBuffer& out, uint32_t per_layer_dim, uint32_t n_tokens,
                                   uint32_t pli_stride, uint32_t pli_offset) {
  if (per_layer_dim == 0 || n_tokens == 0) fail("Vulkan per-layer gate: empty shape");
  if (uint64_t(pli_offset) + per_layer_dim > pli_stride) {
    fail("Vulkan per-layer gate: segment [", pli_offset, ", +", per_layer_dim, ") runs past the row of ", pli_stride);
  }
  const uint64_t floats = uint64_t(per_layer_dim) * n_tokens;
  need_32bit(uint64_t(pli_stride) * n_tokens, "Vulkan per-layer gate");
  need_floats(gate, floats, "Vulkan per-layer gate gate");
  need_floats(out, floats, "Vulkan per-layer gate out");
  need_floats(pli, uint64_t(pli_stride) * (n_tokens - 1) + pli_offset + per_layer_dim, "Vulkan per-layer gate pli");
  if (&pli == &out) fail("Vulkan per-layer gate: out aliases the per-layer inputs");
  const GatePush push{per_layer_dim, n_tokens, pli_stride, pli_offset};
  rec.dispatch(pipeline("per_layer_gate", 3, sizeof(GatePush), kElemWg), {gate, pli, out}, push,
               static_cast<uint32_t>((floats + kElemWg - 1) / kElemWg), 1, 1, "per_layer_gate");
}

}  // namespace unicorn::hal
#endif
