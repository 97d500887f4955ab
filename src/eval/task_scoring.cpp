#include "oacim/eval/task_scoring.hpp"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::eval {

EncodedPair encode_pair(const Tokenize& tokenize, const std::string& context, const std::string& continuation) {
  const std::size_t kept = context.find_last_not_of(' ') == std::string::npos ? 0 : context.find_last_not_of(' ') + 1;
  const std::string ctx = context.substr(0, kept);
  const std::string cont = context.substr(kept) + continuation;
  const std::vector<int> whole = tokenize(ctx + cont);
  EncodedPair p;
  p.context = tokenize(ctx);
  const std::size_t n = std::min(p.context.size(), whole.size());
  p.continuation.assign(whole.begin() + static_cast<std::ptrdiff_t>(n), whole.end());
  return p;
}

ContinuationScore score_continuation(const Logits& logits, const EncodedPair& pair, int max_positions) {
  const int n = static_cast<int>(pair.continuation.size());
  if (n == 0) throw InvalidArgument("task", "a continuation has no tokens of its own");
  if (n > max_positions) {
    throw InvalidArgument("task", fmt::format("a continuation of {} tokens exceeds the model's {} positions", n, max_positions));
  }
  std::vector<int> all = pair.context;
  all.insert(all.end(), pair.continuation.begin(), pair.continuation.end());
  if (static_cast<int>(all.size()) > max_positions + 1) all.erase(all.begin(), all.end() - (max_positions + 1));
  const std::vector<int> input(all.begin(), all.end() - 1);
  const at::Tensor lp = at::log_softmax(logits(input).to(at::kFloat), 1);
  const std::int64_t first = static_cast<std::int64_t>(input.size()) - n;  // position predicting the first token
  const at::Tensor window = lp.narrow(0, first, n);
  const std::vector<std::int64_t> ids(pair.continuation.begin(), pair.continuation.end());
  const at::Tensor target = at::tensor(ids, at::kLong);
  ContinuationScore s;
  s.tokens = n;
  s.loglikelihood = window.gather(1, target.unsqueeze(1)).to(at::kDouble).sum().item<double>();
  s.greedy = window.argmax(1).eq(target).all().item<bool>();
  return s;
}

DocumentScore score_document(const data::TaskDocument& doc, data::TaskKind kind, const Logits& logits,
                             const Tokenize& tokenize, int max_positions) {
  DocumentScore d;
  std::vector<bool> greedy;
  for (const std::string& cont : doc.continuations) {
    const ContinuationScore s = score_continuation(logits, encode_pair(tokenize, doc.context, cont), max_positions);
    d.loglikelihood.push_back(s.loglikelihood);
    greedy.push_back(s.greedy);
  }
  if (kind == data::TaskKind::LastWord) {
    d.correct = greedy[0];
    return d;
  }
  std::size_t best = 0, best_norm = 0;
  for (std::size_t i = 1; i < d.loglikelihood.size(); ++i) {
    if (d.loglikelihood[i] > d.loglikelihood[best]) best = i;
    const auto per_byte = [&](std::size_t k) { return d.loglikelihood[k] / static_cast<double>(doc.norm_bytes[k]); };
    if (per_byte(i) > per_byte(best_norm)) best_norm = i;
  }
  d.correct = static_cast<int>(best) == doc.gold;
  d.correct_norm = static_cast<int>(best_norm) == doc.gold;
  return d;
}

TaskScores summarize_task(const data::TaskFile& task, const std::vector<DocumentScore>& scores) {
  TaskScores t;
  t.name = task.name;
  t.kind = task.kind;
  t.documents = scores.size();
  std::vector<float> acc, acc_norm;
  double ll_sum = 0.0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const DocumentScore& s = scores[i];
    acc.push_back(s.correct ? 1.0f : 0.0f);
    acc_norm.push_back(s.correct_norm ? 1.0f : 0.0f);
    const double ll = task.kind == data::TaskKind::MultipleChoice
                          ? s.loglikelihood[static_cast<std::size_t>(task.documents[i].gold)]
                          : s.loglikelihood[0];
    t.loglikelihood.push_back(ll);
    t.correct.push_back(s.correct ? 1 : 0);
    ll_sum += ll;
  }
  t.acc = mean_estimate(acc);
  if (task.kind == data::TaskKind::MultipleChoice) t.acc_norm = mean_estimate(acc_norm);
  if (task.kind == data::TaskKind::LastWord && !scores.empty()) t.perplexity = std::exp(-ll_sum / static_cast<double>(scores.size()));
  return t;
}

}  // namespace oacim::eval
