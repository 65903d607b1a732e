#include "runtime/rope_table.h"

#include <cmath>

namespace unicorn {

std::vector<float> RopeTable::rows_cos_then_sin() const {
  const size_t positions = half > 0 ? cos.size() / static_cast<size_t>(half) : 0;
  std::vector<float> rows(2 * cos.size());
  for (size_t p = 0; p < positions; ++p) {
    for (int i = 0; i < half; ++i) {
      rows[p * 2 * half + i] = cos[p * half + i];
      rows[p * 2 * half + half + i] = sin[p * half + i];
    }
  }
  return rows;
}

std::vector<float> rope_inv_frequencies(const RopeConfig& r, int dim, const std::vector<float>& divisors) {
  const int half = dim / 2;
  std::vector<float> f(half);
  for (int i = 0; i < half; ++i) {
    const float expo = static_cast<float>(2 * i) / static_cast<float>(dim);
    f[i] = 1.0f / static_cast<float>(std::pow(r.theta, static_cast<double>(expo)));
    if (r.scaling == RopeConfig::Scaling::Linear) {
      f[i] = static_cast<float>(f[i] / r.factor);
    } else if (r.scaling == RopeConfig::Scaling::Llama3) {
      const double low_wavelen = r.original_max_positions / r.low_freq_factor;
      const double high_wavelen = r.original_max_positions / r.high_freq_factor;
      const double wavelen = 2 * M_PI / f[i];
      if (wavelen > low_wavelen) {
        f[i] = static_cast<float>(f[i] / r.factor);
      } else if (wavelen >= high_wavelen) {
        const double smooth = (r.original_max_positions / wavelen - r.low_freq_factor) /
                              (r.high_freq_factor - r.low_freq_factor);
        f[i] = static_cast<float>((1 - smooth) * f[i] / r.factor + smooth * f[i]);
      }
    }
    if (!divisors.empty()) f[i] /= divisors[i];
  }
  return f;
}

RopeTable make_rope_table(const RopeConfig& r, int dim, int ctx, const std::vector<float>& divisors) {
  RopeTable t;
  t.half = dim / 2;
  const std::vector<float> inv = rope_inv_frequencies(r, dim, divisors);
  t.cos.resize(static_cast<size_t>(ctx) * t.half);
  t.sin.resize(t.cos.size());
  for (int p = 0; p < ctx; ++p) {
    for (int i = 0; i < t.half; ++i) {
      const float angle = static_cast<float>(p) * inv[i];  // float32 product, like HF
      t.cos[static_cast<size_t>(p) * t.half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      t.sin[static_cast<size_t>(p) * t.half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
  return t;
}

void apply_rope(float* x, const RopeTable& t, int pos, bool interleaved) {
  const float* c = t.cos.data() + static_cast<size_t>(pos) * t.half;
  const float* s = t.sin.data() + static_cast<size_t>(pos) * t.half;
  if (interleaved) {
    for (int i = 0; i < t.half; ++i) {
      const float a = x[2 * i], b = x[2 * i + 1];
      x[2 * i] = a * c[i] - b * s[i];
      x[2 * i + 1] = b * c[i] + a * s[i];
    }
  } else {
    float* hi = x + t.half;
    for (int i = 0; i < t.half; ++i) {
      const float a = x[i], b = hi[i];
      x[i] = a * c[i] - b * s[i];
      hi[i] = b * c[i] + a * s[i];
    }
  }
}

}  // namespace unicorn
