#pragma once
// Perplexity of a model over a token sequence with fixed windows, and the divergence of a (quantized) model's
// next-token distributions from a base model's saved ones (mean KL divergence, top-1 agreement), like llama.cpp's
// llama-perplexity --kl-divergence.
//
// Windowing (the method of shared/tools/train_tiny.py, which HF's val_ppl uses): windows of ctx - 1 tokens start
// every `stride` tokens (a last window that would run past the end is dropped); each is run from an empty cache as
// BOS + its ctx - 1 tokens. The first window scores all its ctx - 1 predictions; later windows score only the
// predictions of tokens no earlier window scored (all of them when stride >= ctx - 1).
//
// Logits file (--save-logits), little-endian: "UCNLOGP1", u32 version (1), u32 vocab, u32 ctx, u32 stride,
// u64 n_tokens, u64 n_scored, i32 tokens[n_tokens], then f32 log-probabilities [n_scored][vocab] in scoring order.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace unicorn {

class Model;

struct PerplexityOptions {
  int ctx = 256;                  // window length including the BOS token
  int stride = 0;                 // 0: ctx - 1 (no overlap)
  int64_t max_windows = 0;        // 0: all windows
  std::string save_logits;        // write the log-probabilities of every scored position here
  std::string kl_base;            // compare with the log-probabilities saved here (same tokens and windowing)
};

struct PerplexityResult {
  int64_t tokens = 0;             // tokens of the text
  int64_t windows = 0;
  int64_t scored = 0;             // predictions counted
  double nll = 0.0;               // mean negative log-likelihood (nats)
  double ppl = 0.0;               // exp(nll)
  double ppl_stderr = 0.0;        // ppl * standard error of the mean NLL
  bool has_kl = false;            // the rest is set when kl_base was given
  double base_ppl = 0.0;          // the base model's perplexity on the same predictions
  double kl_mean = 0.0;           // mean over positions of KL(base || this)
  double kl_stderr = 0.0;
  double kl_max = 0.0;
  double kl_median = 0.0;
  double top1_agreement = 0.0;    // fraction of positions whose most likely token is the base model's
};

// Called after each window with (windows done, windows total).
using PerplexityProgress = std::function<void(int64_t done, int64_t total)>;

// The tokens saved in a logits file (so a KL run can reuse them without the text). Throws Error for a bad file.
std::vector<int32_t> read_logits_file_tokens(const std::string& path);

// Runs the windows through MODEL (its context must hold ctx tokens; the cache is reset per window).
// Throws Error when there is not one whole window, bos_id < 0, or the KL base file does not match (vocab, windowing,
// tokens).
PerplexityResult compute_perplexity(Model& model, std::span<const int32_t> tokens, int32_t bos_id,
                                    const PerplexityOptions& options, const PerplexityProgress& progress = {});

}  // namespace unicorn
