// Element-wise and row-wise float ops, compiled per SIMD target by Highway and dispatched at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops.cpp"
#include "kernels/hwy_targets.h"  // must precede the Highway headers
#include <hwy/foreach_target.h>   // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include <cmath>
#include <limits>

#include "kernels/ops.h"

HWY_BEFORE_NAMESPACE();
namespace unicorn::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;

// Applies a vector op over n elements; the tail goes through a partial load/store of one vector, so the same
// formula (and rounding) applies to every element.
template <class Op>
HWY_INLINE void Map1(const float* HWY_RESTRICT x, int64_t n, float* out, const Op& op) {
  const DF df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(op(df, hn::LoadU(df, x + i)), df, out + i);
  if (i < n) {
    alignas(64) float buf[HWY_MAX_BYTES / sizeof(float)] = {};
    for (int64_t j = i; j < n; ++j) buf[j - i] = x[j];
    hn::Store(op(df, hn::Load(df, buf)), df, buf);
    for (int64_t j = i; j < n; ++j) out[j] = buf[j - i];
  }
}

template <class Op>
HWY_INLINE void Map2(const float* a, const float* b, int64_t n, float* out, const Op& op) {
  const DF df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(op(df, hn::LoadU(df, a + i), hn::LoadU(df, b + i)), df, out + i);
  if (i < n) {
    alignas(64) float ba[HWY_MAX_BYTES / sizeof(float)] = {};
    alignas(64) float bb[HWY_MAX_BYTES / sizeof(float)] = {};
    for (int64_t j = i; j < n; ++j) {
      ba[j - i] = a[j];
      bb[j - i] = b[j];
    }
    hn::Store(op(df, hn::Load(df, ba), hn::Load(df, bb)), df, ba);
    for (int64_t j = i; j < n; ++j) out[j] = ba[j - i];
  }
}

// x * sigmoid(x) = x / (1 + exp(-x)); exp's argument is capped where the result is 0 in float anyway.
template <class V>
HWY_INLINE V Silu(DF df, V x) {
  const V e = hn::Exp(df, hn::Min(hn::Neg(x), hn::Set(df, 88.0f)));
  return hn::Div(x, hn::Add(hn::Set(df, 1.0f), e));
}

// 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as x * sigmoid(2u) = x / (1 + exp(-2u)):
// the same function, without the cancellation of 1 + tanh(u) for negative x. exp's argument is capped where the
// result is 0 in float anyway.
template <class V>
HWY_INLINE V GeluTanh(DF df, V x) {
  const V x3 = hn::Mul(hn::Mul(x, x), x);
  const V u2 = hn::Mul(hn::Set(df, -2.0f * 0.7978845608028654f), hn::MulAdd(hn::Set(df, 0.044715f), x3, x));
  const V e = hn::Exp(df, hn::Max(hn::Min(u2, hn::Set(df, 88.0f)), hn::Set(df, -88.0f)));
  return hn::Div(x, hn::Add(hn::Set(df, 1.0f), e));
}

float DotImpl(const float* a, const float* b, int64_t n) {
  const DF df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  auto s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(df, a + i + N), hn::LoadU(df, b + i + N), s1);
    s2 = hn::MulAdd(hn::LoadU(df, a + i + 2 * N), hn::LoadU(df, b + i + 2 * N), s2);
    s3 = hn::MulAdd(hn::LoadU(df, a + i + 3 * N), hn::LoadU(df, b + i + 3 * N), s3);
  }
  for (; i + N <= n; i += N) s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void RmsNormImpl(const float* x, const float* w, int64_t n, float eps, bool add_one, float* out) {
  const DF df;
  const float ss = DotImpl(x, x, n);
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  const auto vinv = hn::Set(df, inv);
  if (w == nullptr) {
    Map1(x, n, out, [&](DF, auto v) { return hn::Mul(v, vinv); });
  } else if (add_one) {
    const auto one = hn::Set(df, 1.0f);
    Map2(x, w, n, out, [&](DF, auto v, auto wv) { return hn::Mul(hn::Mul(v, vinv), hn::Add(one, wv)); });
  } else {
    Map2(x, w, n, out, [&](DF, auto v, auto wv) { return hn::Mul(hn::Mul(v, vinv), wv); });
  }
}

void SoftmaxImpl(float* x, int64_t n) {
  if (n <= 0) return;
  const DF df;
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  if (mx == -std::numeric_limits<float>::infinity()) {
    for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
    return;
  }
  const auto vmax = hn::Set(df, mx);
  const auto floor = hn::Set(df, -100.0f);  // exp(-100) is below float's smallest normal: masked (-inf) -> 0
  Map1(x, n, x, [&](DF d, auto v) {
    const auto arg = hn::Sub(v, vmax);
    const auto e = hn::Exp(d, hn::Max(arg, floor));
    return hn::IfThenZeroElse(hn::Lt(arg, floor), e);
  });
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const auto vinv = hn::Set(df, 1.0f / sum);
  Map1(x, n, x, [&](DF, auto v) { return hn::Mul(v, vinv); });
}

void SiluImpl(const float* x, int64_t n, float* out) {
  Map1(x, n, out, [](DF d, auto v) { return Silu(d, v); });
}
void GeluTanhImpl(const float* x, int64_t n, float* out) {
  Map1(x, n, out, [](DF d, auto v) { return GeluTanh(d, v); });
}
void SwigluImpl(const float* gate, const float* up, int64_t n, float* out) {
  Map2(gate, up, n, out, [](DF d, auto g, auto u) { return hn::Mul(Silu(d, g), u); });
}
void GegluTanhImpl(const float* gate, const float* up, int64_t n, float* out) {
  Map2(gate, up, n, out, [](DF d, auto g, auto u) { return hn::Mul(GeluTanh(d, g), u); });
}
void AddImpl(const float* a, const float* b, int64_t n, float* out) {
  Map2(a, b, n, out, [](DF, auto u, auto v) { return hn::Add(u, v); });
}
void MulImpl(const float* a, const float* b, int64_t n, float* out) {
  Map2(a, b, n, out, [](DF, auto u, auto v) { return hn::Mul(u, v); });
}
void ScaleImpl(float* x, int64_t n, float s) {
  const DF df;
  const auto vs = hn::Set(df, s);
  Map1(x, n, x, [&](DF, auto v) { return hn::Mul(v, vs); });
}
void DotRowsImpl(const float* q, const float* rows, int64_t stride, int64_t n_rows, int64_t n, float* out) {
  for (int64_t j = 0; j < n_rows; ++j) out[j] = DotImpl(q, rows + j * stride, n);
}

// The same per-element MulAdd sequence as n_rows AxpyImpl calls (vector body, and the tail through a padded
// vector like Map2), but each 4-vector strip of y stays in registers while all rows are added to it.
void AxpyRowsImpl(const float* a, const float* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  const DF df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    auto y0 = hn::LoadU(df, y + i), y1 = hn::LoadU(df, y + i + N);
    auto y2 = hn::LoadU(df, y + i + 2 * N), y3 = hn::LoadU(df, y + i + 3 * N);
    for (int64_t j = 0; j < n_rows; ++j) {
      const float* x = rows + j * stride + i;
      const auto va = hn::Set(df, a[j]);
      y0 = hn::MulAdd(va, hn::LoadU(df, x), y0);
      y1 = hn::MulAdd(va, hn::LoadU(df, x + N), y1);
      y2 = hn::MulAdd(va, hn::LoadU(df, x + 2 * N), y2);
      y3 = hn::MulAdd(va, hn::LoadU(df, x + 3 * N), y3);
    }
    hn::StoreU(y0, df, y + i);
    hn::StoreU(y1, df, y + i + N);
    hn::StoreU(y2, df, y + i + 2 * N);
    hn::StoreU(y3, df, y + i + 3 * N);
  }
  for (; i + N <= n; i += N) {
    auto yv = hn::LoadU(df, y + i);
    for (int64_t j = 0; j < n_rows; ++j) yv = hn::MulAdd(hn::Set(df, a[j]), hn::LoadU(df, rows + j * stride + i), yv);
    hn::StoreU(yv, df, y + i);
  }
  if (i < n) {
    alignas(64) float by[HWY_MAX_BYTES / sizeof(float)] = {};
    alignas(64) float bx[HWY_MAX_BYTES / sizeof(float)] = {};
    for (int64_t k = i; k < n; ++k) by[k - i] = y[k];
    auto yv = hn::Load(df, by);
    for (int64_t j = 0; j < n_rows; ++j) {
      for (int64_t k = i; k < n; ++k) bx[k - i] = rows[j * stride + k];
      yv = hn::MulAdd(hn::Set(df, a[j]), hn::Load(df, bx), yv);
    }
    hn::Store(yv, df, by);
    for (int64_t k = i; k < n; ++k) y[k] = by[k - i];
  }
}

void AxpyImpl(float a, const float* x, int64_t n, float* y) {
  const DF df;
  const auto va = hn::Set(df, a);
  Map2(x, y, n, y, [&](DF, auto xv, auto yv) { return hn::MulAdd(va, xv, yv); });
}

}  // namespace unicorn::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace unicorn::kernels {

HWY_EXPORT(RmsNormImpl);
HWY_EXPORT(SoftmaxImpl);
HWY_EXPORT(SiluImpl);
HWY_EXPORT(GeluTanhImpl);
HWY_EXPORT(SwigluImpl);
HWY_EXPORT(GegluTanhImpl);
HWY_EXPORT(AddImpl);
HWY_EXPORT(MulImpl);
HWY_EXPORT(ScaleImpl);
HWY_EXPORT(AxpyImpl);
HWY_EXPORT(DotImpl);
HWY_EXPORT(DotRowsImpl);
HWY_EXPORT(AxpyRowsImpl);

void rmsnorm(const float* x, const float* w, int64_t n, float eps, bool add_one, float* out) {
  HWY_DYNAMIC_DISPATCH(RmsNormImpl)(x, w, n, eps, add_one, out);
}
void softmax(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(SoftmaxImpl)(x, n); }
void silu(const float* x, int64_t n, float* out) { HWY_DYNAMIC_DISPATCH(SiluImpl)(x, n, out); }
void gelu_tanh(const float* x, int64_t n, float* out) { HWY_DYNAMIC_DISPATCH(GeluTanhImpl)(x, n, out); }
void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SwigluImpl)(gate, up, n, out);
}
void geglu_tanh(const float* gate, const float* up, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(GegluTanhImpl)(gate, up, n, out);
}
void add(const float* a, const float* b, int64_t n, float* out) { HWY_DYNAMIC_DISPATCH(AddImpl)(a, b, n, out); }
void mul(const float* a, const float* b, int64_t n, float* out) { HWY_DYNAMIC_DISPATCH(MulImpl)(a, b, n, out); }
void scale(float* x, int64_t n, float s) { HWY_DYNAMIC_DISPATCH(ScaleImpl)(x, n, s); }
void axpy(float a, const float* x, int64_t n, float* y) { HWY_DYNAMIC_DISPATCH(AxpyImpl)(a, x, n, y); }
float dot(const float* a, const float* b, int64_t n) { return HWY_DYNAMIC_DISPATCH(DotImpl)(a, b, n); }
void dot_rows(const float* q, const float* rows, int64_t stride, int64_t n_rows, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(DotRowsImpl)(q, rows, stride, n_rows, n, out);
}
void axpy_rows(const float* a, const float* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  HWY_DYNAMIC_DISPATCH(AxpyRowsImpl)(a, rows, stride, n_rows, n, y);
}

}  // namespace unicorn::kernels
#endif
