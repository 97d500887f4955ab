#pragma once
// The outcome of a zero-shot task (eval/task_scoring.hpp scores it): per document the
// continuations' log-likelihoods and whether the model got it right, and the task's accuracy with
// its standard error. No torch.
#include <cstdint>
#include <string>
#include <vector>

#include "oacim/core/statistics.hpp"
#include "oacim/data/task_file.hpp"

namespace oacim::eval {

// One document's outcome.
struct DocumentScore {
  std::vector<double> loglikelihood;  // per continuation
  bool correct = false;               // acc
  bool correct_norm = false;          // acc_norm (multiple choice)
};

struct TaskScores {
  std::string name;
  data::TaskKind kind = data::TaskKind::MultipleChoice;
  std::size_t documents = 0;
  MeanEstimate acc;
  MeanEstimate acc_norm;     // multiple choice only
  double perplexity = 0.0;   // last word only: exp(-mean log-likelihood)
  std::vector<double> loglikelihood;  // per document: the gold choice's, or the continuation's
  std::vector<std::uint8_t> correct;  // per document (acc), for pairing backends
};
TaskScores summarize_task(const data::TaskFile& task, const std::vector<DocumentScore>& scores);

}  // namespace oacim::eval
