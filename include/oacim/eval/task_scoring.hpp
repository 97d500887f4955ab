#pragma once
// Zero-shot task scoring by log-likelihood, as lm-evaluation-harness does it (docs/models.md, "Task
// files"): the context's trailing spaces move to the front of the continuation; the continuation's
// tokens are those of tokenize(context + continuation) after tokenize(context)'s length; the
// model sees (context + continuation)[-(positions + 1):][:-1] and the continuation's
// log-likelihood is the sum of its tokens' log-probabilities; "greedy" when every continuation
// token is the argmax at its position. Multiple choice: acc (highest log-likelihood is the gold
// choice), acc_norm (highest log-likelihood per UTF-8 byte of the choice); last word: acc (greedy
// match) and perplexity exp(-mean log-likelihood over documents). Ties go to the first choice.
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/eval/task_scores.hpp"

namespace oacim::eval {

using Tokenize = std::function<std::vector<int>(const std::string&)>;
using Logits = std::function<at::Tensor(const std::vector<int>&)>;  // ids -> [ids, vocab]

struct EncodedPair {
  std::vector<int> context, continuation;
};
EncodedPair encode_pair(const Tokenize& tokenize, const std::string& context, const std::string& continuation);

struct ContinuationScore {
  double loglikelihood = 0.0;
  bool greedy = false;
  int tokens = 0;
};
// InvalidArgument when the continuation has no tokens or is longer than the model's positions.
ContinuationScore score_continuation(const Logits& logits, const EncodedPair& pair, int max_positions);

DocumentScore score_document(const data::TaskDocument& doc, data::TaskKind kind, const Logits& logits,
                             const Tokenize& tokenize, int max_positions);

}  // namespace oacim::eval
