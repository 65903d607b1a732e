#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/mapped_file.h"
#include "runtime/model.h"

namespace unicorn {
namespace {

constexpr char kMagic[8] = {'U', 'C', 'N', 'L', 'O', 'G', 'P', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 8 + 4 * 4 + 8 * 2;

struct LogitsHeader {
  uint32_t vocab = 0, ctx = 0, stride = 0;
  uint64_t n_tokens = 0, n_scored = 0;
};

template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A mapped logits file, validated against its own header.
struct LogitsFile {
  std::unique_ptr<MappedFile> file;
  LogitsHeader h;
  const uint8_t* tokens_bytes = nullptr;
  const uint8_t* rows = nullptr;

  explicit LogitsFile(const std::string& path) : file(std::make_unique<MappedFile>(path)) {
    const uint8_t* p = file->data();
    const uint64_t size = file->size();
    auto bad = [&](const char* field, const std::string& why) { throw Error(why, Error::Context{path, "", field}); };
    if (size < kHeaderBytes || std::memcmp(p, kMagic, 8) != 0) bad("magic", "not a unicorn logits file (UCNLOGP1)");
    if (get<uint32_t>(p + 8) != kVersion) bad("version", "unsupported logits file version");
    h.vocab = get<uint32_t>(p + 12);
    h.ctx = get<uint32_t>(p + 16);
    h.stride = get<uint32_t>(p + 20);
    h.n_tokens = get<uint64_t>(p + 24);
    h.n_scored = get<uint64_t>(p + 32);
    if (h.vocab == 0 || h.vocab > (1u << 24)) bad("vocab", "out of range");
    if (h.n_tokens > (uint64_t{1} << 36) || h.n_scored > h.n_tokens) bad("n_scored", "out of range");
    const uint64_t need = kHeaderBytes + h.n_tokens * 4 + h.n_scored * uint64_t{h.vocab} * 4;
    if (size != need) bad("size", str_cat("file has ", size, " bytes, its header implies ", need));
    tokens_bytes = p + kHeaderBytes;
    rows = tokens_bytes + h.n_tokens * 4;
  }
  int32_t token(uint64_t i) const { return get<int32_t>(tokens_bytes + 4 * i); }
  const float* row(uint64_t i) const { return reinterpret_cast<const float*>(rows + i * uint64_t{h.vocab} * 4); }
};

// log-softmax of one row into out (double accumulation); returns the index of the maximum.
int log_softmax(const float* logits, int n, float* out) {
  int arg = 0;
  for (int v = 1; v < n; ++v)
    if (logits[v] > logits[arg]) arg = v;
  const double mx = logits[arg];
  double sum = 0;
  for (int v = 0; v < n; ++v) sum += std::exp(double(logits[v]) - mx);
  const double lse = mx + std::log(sum);
  for (int v = 0; v < n; ++v) out[v] = static_cast<float>(double(logits[v]) - lse);
  return arg;
}

}  // namespace

std::vector<int32_t> read_logits_file_tokens(const std::string& path) {
  LogitsFile f(path);
  std::vector<int32_t> t(f.h.n_tokens);
  for (uint64_t i = 0; i < f.h.n_tokens; ++i) t[i] = f.token(i);
  return t;
}

PerplexityResult compute_perplexity(Model& model, std::span<const int32_t> tokens, int32_t bos_id,
                                    const PerplexityOptions& o, const PerplexityProgress& progress) {
  const int ctx = o.ctx;
  const int vocab = model.info().vocab_size;
  if (ctx < 2) throw Error("--ctx must be at least 2", {"", "", "ctx"});
  if (ctx > model.info().ctx) throw Error(str_cat("--ctx ", ctx, " exceeds the model's context ", model.info().ctx), {"", "", "ctx"});
  const int stride = o.stride > 0 ? o.stride : ctx - 1;
  if (bos_id < 0) throw Error("the model has no BOS token to start each window with", {"", "", "bos"});
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t span_len = ctx - 1;

  // Window starts, and the first position of each that counts (earlier ones were scored by an earlier window).
  std::vector<int64_t> starts;
  for (int64_t i = 0; i + span_len <= n; i += stride) {
    starts.push_back(i);
    if (o.max_windows > 0 && static_cast<int64_t>(starts.size()) >= o.max_windows) break;
  }
  if (starts.empty()) throw Error(str_cat("the text has ", n, " tokens, fewer than one window of ", span_len), {"", "", "ctx"});
  int64_t total_scored = 0, until = 0;
  for (int64_t s : starts) {
    total_scored += s + span_len - std::max(s, until);
    until = s + span_len;
  }

  PerplexityResult r;
  r.tokens = n;
  r.windows = static_cast<int64_t>(starts.size());

  std::unique_ptr<LogitsFile> base;
  if (!o.kl_base.empty()) {
    base = std::make_unique<LogitsFile>(o.kl_base);
    const auto& h = base->h;
    auto mismatch = [&](const char* field, const std::string& why) {
      throw Error(str_cat("does not match this run: ", why), Error::Context{o.kl_base, "", field});
    };
    if (static_cast<int>(h.vocab) != vocab) mismatch("vocab", str_cat("vocab ", h.vocab, " vs ", vocab));
    if (static_cast<int>(h.ctx) != ctx || static_cast<int>(h.stride) != stride)
      mismatch("ctx", str_cat("ctx/stride ", h.ctx, "/", h.stride, " vs ", ctx, "/", stride));
    if (static_cast<int64_t>(h.n_tokens) != n) mismatch("n_tokens", str_cat(h.n_tokens, " tokens vs ", n));
    for (int64_t i = 0; i < n; ++i)
      if (base->token(i) != tokens[i]) mismatch("tokens", str_cat("token ", i, " differs"));
    if (static_cast<int64_t>(h.n_scored) != total_scored)
      mismatch("n_scored", str_cat(h.n_scored, " scored positions vs ", total_scored));
    r.has_kl = true;
  }
  std::unique_ptr<AtomicFileWriter> save;
  if (!o.save_logits.empty()) {
    save = std::make_unique<AtomicFileWriter>(o.save_logits);
    save->write(kMagic, 8);
    const uint32_t u32s[4] = {kVersion, static_cast<uint32_t>(vocab), static_cast<uint32_t>(ctx), static_cast<uint32_t>(stride)};
    save->write(u32s, sizeof u32s);
    const uint64_t u64s[2] = {static_cast<uint64_t>(n), static_cast<uint64_t>(total_scored)};
    save->write(u64s, sizeof u64s);
    save->write(tokens.data(), tokens.size_bytes());
  }

  std::vector<float> logits(static_cast<size_t>(ctx) * vocab), lp(static_cast<size_t>(vocab));
  std::vector<int32_t> window(static_cast<size_t>(ctx));
  std::vector<double> kls;
  if (base) kls.reserve(static_cast<size_t>(total_scored));
  double nll_sum = 0, nll_sq = 0, base_nll = 0;
  int64_t agree = 0, pos = 0;
  until = 0;
  for (size_t w = 0; w < starts.size(); ++w) {
    const int64_t s = starts[w];
    window[0] = bos_id;
    std::copy(tokens.begin() + s, tokens.begin() + s + span_len, window.begin() + 1);
    model.reset();
    model.forward(window, 0, logits.data(), true);
    for (int64_t t = std::max<int64_t>(0, until - s); t < span_len; ++t) {
      const int32_t target = window[t + 1];
      const int arg = log_softmax(logits.data() + t * vocab, vocab, lp.data());
      const double nll = -double(lp[target]);
      nll_sum += nll;
      nll_sq += nll * nll;
      if (save) save->write(lp.data(), lp.size() * sizeof(float));
      if (base) {
        const float* b = base->row(static_cast<uint64_t>(pos));
        double kl = 0;
        int barg = 0;
        for (int v = 0; v < vocab; ++v) {
          kl += std::exp(double(b[v])) * (double(b[v]) - double(lp[v]));
          if (b[v] > b[barg]) barg = v;
        }
        kls.push_back(std::max(0.0, kl));
        agree += barg == arg;
        base_nll -= b[target];
      }
      ++pos;
    }
    until = s + span_len;
    if (progress) progress(static_cast<int64_t>(w + 1), r.windows);
  }
  if (pos != total_scored) throw Error("internal: scored positions miscounted", {"", "", ""});
  if (save) save->commit();

  const double cnt = static_cast<double>(pos);
  r.scored = pos;
  r.nll = nll_sum / cnt;
  r.ppl = std::exp(r.nll);
  const double var = pos > 1 ? std::max(0.0, (nll_sq - nll_sum * nll_sum / cnt) / (cnt - 1)) : 0.0;
  r.ppl_stderr = r.ppl * std::sqrt(var / cnt);
  if (base) {
    r.base_ppl = std::exp(base_nll / cnt);
    double sum = 0, sq = 0;
    for (double k : kls) sum += k, sq += k * k, r.kl_max = std::max(r.kl_max, k);
    r.kl_mean = sum / cnt;
    r.kl_stderr = pos > 1 ? std::sqrt(std::max(0.0, (sq - sum * sum / cnt) / (cnt - 1)) / cnt) : 0.0;
    std::nth_element(kls.begin(), kls.begin() + kls.size() / 2, kls.end());
    r.kl_median = kls[kls.size() / 2];
    r.top1_agreement = static_cast<double>(agree) / cnt;
  }
  return r;
}

}  // namespace unicorn
