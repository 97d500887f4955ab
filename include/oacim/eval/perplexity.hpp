#pragma once
// Perplexity, exactly as the GPTQ / SpQR / OA-CIM evaluation code computes it (docs/algorithms.md E.1):
// the corpus is tokenized once, cut into floor(L / seqlen) non-overlapping windows (tail dropped,
// no BOS re-inserted), each window runs with a fresh context at positions 0..seqlen-1, its loss is
// the mean cross-entropy of its seqlen - 1 next-token predictions, and ppl = exp(mean of the
// window losses).
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

// logits(tokens of one window) -> [seqlen, vocab] fp32. `max_windows` > 0 evaluates only the
// first windows (quick checks; results then say so). Progress goes to `progress` when set.
PerplexityResult perplexity(const std::function<at::Tensor(const std::vector<int>&)>& logits,
                            const std::vector<int>& corpus, int seqlen, int max_windows,
                            const std::function<void(int done, int total, double seconds)>& progress = nullptr);

// Text of a named dataset as the protocol builds it, from files in `data_dir`:
//   wikitext2  wiki.test.raw, rows (lines with their newline) joined with "\n\n"
//   ptb        ptb.valid.txt, lines joined with "\n\n";  ptb-new: ptb.test.txt, lines joined with " "
// Anything else is read as a plain text file. Throws FormatError / InvalidArgument naming the file.
// c4 / c4-new are built from documents: use dataset_tokens.
std::string dataset_text(const std::string& name_or_file, const std::string& data_dir);
// The token stream a perplexity run cuts into windows of `seqlen`: c4 and c4-new from the C4
// validation shard in `data_dir` (c4.hpp), anything else dataset_text in one tokenizer call.
std::vector<int> dataset_tokens(const std::string& name_or_file, const std::string& data_dir,
                                const std::function<std::vector<int>(const std::string&)>& tokenize, int seqlen);

}  // namespace oacim::eval
