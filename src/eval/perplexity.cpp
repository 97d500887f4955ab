#include "oacim/eval/perplexity.hpp"
#include "oacim/eval/dataset_files.hpp"

#include "oacim/eval/c4.hpp"

#include <chrono>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"

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

namespace {

// Lines with their trailing newline, like Python's splitlines(keepends=True) on "\n" text.
std::vector<std::string> lines_keep_ends(const std::string& text) {
  std::vector<std::string> rows;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
    rows.push_back(text.substr(start, end - start));
    start = end;
  }
  return rows;
}

std::string join(const std::vector<std::string>& rows, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) out += sep;
    out += rows[i];
  }
  return out;
}

}  // namespace

std::string dataset_text(const std::string& name, const std::string& data_dir) {
  if (name == "wikitext2") {
    return join(lines_keep_ends(read_whole_file(existing_dataset_file(name, data_dir, "dataset"))), "\n\n");
  }
  if (name == "ptb" || name == "ptb-new") {
    std::vector<std::string> rows = lines_keep_ends(read_whole_file(existing_dataset_file(name, data_dir, "dataset")));
    for (auto& r : rows) {
      if (!r.empty() && r.back() == '\n') r.pop_back();  // the HF dataset's `sentence` has no newline
    }
    return join(rows, name == "ptb" ? "\n\n" : " ");
  }
  if (name == "c4" || name == "c4-new") {
    throw InvalidArgument("--dataset", fmt::format("'{}' is built from documents, not one text (dataset_tokens)", name));
  }
  return read_whole_file(name);
}

std::vector<int> dataset_tokens(const std::string& name, const std::string& data_dir,
                                const std::function<std::vector<int>(const std::string&)>& tokenize, int seqlen) {
  if (name == "c4" || name == "c4-new") {
    const std::string shard = find_c4_shard(data_dir, kC4ValidationShard, "--dataset");
    return name == "c4" ? c4_eval_tokens(read_c4_documents(shard), tokenize, seqlen)
                        : c4_new_eval_tokens(read_c4_documents(shard, 1100), tokenize, seqlen);
  }
  return tokenize(dataset_text(name, data_dir));
}

}  // namespace oacim::eval
