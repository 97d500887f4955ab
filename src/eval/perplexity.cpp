#include "oacim/eval/perplexity.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::eval {

int perplexity_windows(std::size_t corpus_tokens, int seqlen, int max_windows) {
  if (seqlen < 2) throw InvalidArgument("seqlen", fmt::format("{} is below 2 tokens", seqlen));
  const std::size_t windows = corpus_tokens / static_cast<std::size_t>(seqlen);
  if (windows == 0) {
    throw InvalidArgument("seqlen", fmt::format("the corpus has {} tokens, fewer than one window of {}",
                                                  corpus_tokens, seqlen));
  }
  if (windows > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw InvalidArgument("seqlen", fmt::format("{} windows of {} tokens are more than this tool counts", windows, seqlen));
  }
  const int w = static_cast<int>(windows);
  return max_windows > 0 ? std::min(w, max_windows) : w;
}

std::vector<double> window_nlls(const std::function<at::Tensor(const std::vector<int>&)>& logits,
                                const std::vector<int>& corpus, int seqlen, int begin, int end,
                                const std::function<void(int, int, double)>& progress, const WindowObserver& observer) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<double> nll;
  for (int i = begin; i < end; ++i) {
    const std::vector<int> window(corpus.begin() + static_cast<std::ptrdiff_t>(i) * seqlen,
                                  corpus.begin() + static_cast<std::ptrdiff_t>(i + 1) * seqlen);
    const at::Tensor lg = logits(window);
    std::vector<std::int64_t> next(window.begin() + 1, window.end());
    const at::Tensor target = at::tensor(next, at::kLong);
    nll.push_back(at::cross_entropy_loss(lg.narrow(0, 0, seqlen - 1).to(at::kFloat), target).item<double>());
    if (observer) observer(i, window, lg);
    if (progress) {
      progress(i + 1 - begin, end - begin, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  return nll;
}

PerplexityResult summarize_windows(std::vector<double> window_nll, int seqlen, std::int64_t corpus_tokens) {
  PerplexityResult r;
  r.seqlen = seqlen;
  r.corpus_tokens = corpus_tokens;
  r.windows = static_cast<int>(window_nll.size());
  double sum = 0.0;
  for (const double ce : window_nll) sum += ce;  // window order: the same bits however the windows were shared
  r.mean_nll = r.windows > 0 ? sum / r.windows : 0.0;
  r.ppl = std::exp(r.mean_nll);
  r.tokens = static_cast<std::int64_t>(r.windows) * seqlen;
  r.window_nll = std::move(window_nll);
  return r;
}

PerplexityResult perplexity(const std::function<at::Tensor(const std::vector<int>&)>& logits,
                            const std::vector<int>& corpus, int seqlen, int max_windows,
                            const std::function<void(int, int, double)>& progress) {
  const int windows = perplexity_windows(corpus.size(), seqlen, max_windows);
  const auto t0 = std::chrono::steady_clock::now();
  PerplexityResult r = summarize_windows(window_nlls(logits, corpus, seqlen, 0, windows, progress), seqlen,
                                         static_cast<std::int64_t>(corpus.size()));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens_per_second = r.seconds > 0 ? static_cast<double>(r.tokens) / r.seconds : 0.0;
  return r;
}

}  // namespace oacim::eval
