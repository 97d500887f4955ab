#pragma once
// Perplexity, exactly as the GPTQ / SpQR / OA-CIM evaluation code computes it (docs/algorithms.md E.1):
// the corpus is tokenized once, cut into floor(L / seqlen) non-overlapping windows (tail dropped,
// no BOS re-inserted), each window runs with a fresh context at positions 0..seqlen-1, its loss is
// the mean cross-entropy of its seqlen - 1 next-token predictions, and ppl = exp(mean of the
// window losses).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace oacim::eval {

struct PerplexityResult {
  double ppl = 0.0;
  double mean_nll = 0.0;        // nats per predicted token (mean of window means)
  int windows = 0;
  int seqlen = 0;
  std::int64_t tokens = 0;      // tokens run through the model (windows x seqlen)
  std::int64_t corpus_tokens = 0;
  double seconds = 0.0;
  double tokens_per_second = 0.0;
  std::vector<double> window_nll;  // per window
};

// The number of windows the protocol evaluates: floor(L / seqlen), at most `max_windows` when > 0.
// InvalidArgument("seqlen") below 2 tokens or for a corpus shorter than one window.
int perplexity_windows(std::size_t corpus_tokens, int seqlen, int max_windows);

// Sees every window's logits [seqlen, vocab] after its loss: (window index, its tokens, logits).
using WindowObserver = std::function<void(int window, const std::vector<int>& tokens, const at::Tensor& logits)>;

// The loss of windows begin..end-1 (a rank's share of them), in window order.
std::vector<double> window_nlls(const std::function<at::Tensor(const std::vector<int>&)>& logits,
                                const std::vector<int>& corpus, int seqlen, int begin, int end,
                                const std::function<void(int done, int total, double seconds)>& progress = nullptr,
                                const WindowObserver& observer = nullptr);

// Perplexity of every window's loss, summed in window order (timings left at 0).
PerplexityResult summarize_windows(std::vector<double> window_nll, int seqlen, std::int64_t corpus_tokens);

// logits(tokens of one window) -> [seqlen, vocab] fp32. `max_windows` > 0 evaluates only the
// first windows (quick checks; results then say so). Progress goes to `progress` when set.
PerplexityResult perplexity(const std::function<at::Tensor(const std::vector<int>&)>& logits,
                            const std::vector<int>& corpus, int seqlen, int max_windows,
                            const std::function<void(int done, int total, double seconds)>& progress = nullptr);

}  // namespace oacim::eval
