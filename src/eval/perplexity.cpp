#include "oacim/eval/perplexity.hpp"

#include <chrono>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::eval {

PerplexityResult perplexity(const std::function<at::Tensor(const std::vector<int>&)>& logits,
                            const std::vector<int>& corpus, int seqlen, int max_windows,
                            const std::function<void(int, int, double)>& progress) {
  if (seqlen < 2) throw InvalidArgument("--seqlen", fmt::format("{} is below 2 tokens", seqlen));
  PerplexityResult r;
  r.seqlen = seqlen;
  r.corpus_tokens = static_cast<std::int64_t>(corpus.size());
  int windows = static_cast<int>(corpus.size() / static_cast<std::size_t>(seqlen));
  if (windows == 0) {
    throw InvalidArgument("--seqlen", fmt::format("the corpus has {} tokens, fewer than one window of {}",
                                                  corpus.size(), seqlen));
  }
  if (max_windows > 0) windows = std::min(windows, max_windows);
  const auto t0 = std::chrono::steady_clock::now();
  double sum = 0.0;
  for (int i = 0; i < windows; ++i) {
    const std::vector<int> window(corpus.begin() + static_cast<std::ptrdiff_t>(i) * seqlen,
                                  corpus.begin() + static_cast<std::ptrdiff_t>(i + 1) * seqlen);
    const at::Tensor lg = logits(window);
    std::vector<std::int64_t> next(window.begin() + 1, window.end());
    const at::Tensor target = at::tensor(next, at::kLong);
    const double ce = at::cross_entropy_loss(lg.narrow(0, 0, seqlen - 1).to(at::kFloat), target).item<double>();
    r.window_nll.push_back(ce);
    sum += ce;
    if (progress) progress(i + 1, windows, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  r.windows = windows;
  r.mean_nll = sum / windows;
  r.ppl = std::exp(r.mean_nll);
  r.tokens = static_cast<std::int64_t>(windows) * seqlen;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens_per_second = r.seconds > 0 ? static_cast<double>(r.tokens) / r.seconds : 0.0;
  return r;
}

}  // namespace oacim::eval
