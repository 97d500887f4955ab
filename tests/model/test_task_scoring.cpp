// Zero-shot task scoring against a hand-computed example: a four-token "model" whose next-token
// distribution depends on the previous token only, so every log-likelihood is a product read off
// the table below.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>

#include "oacim/core/error.hpp"
#include "oacim/data/task_file.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/eval/task_scoring.hpp"

namespace oacim::eval {
namespace {

// Tokens: 'a' 0, 'b' 1, ' ' 2, 'c' 3; one token per character, no prefix.
std::vector<int> tokenize(const std::string& s) {
  std::vector<int> ids;
  for (const char ch : s) ids.push_back(ch == 'a' ? 0 : ch == 'b' ? 1 : ch == ' ' ? 2 : 3);
  return ids;
}

// P(next | previous), rows a, b, ' ', c; columns a, b, ' ', c.
const double kNext[4][4] = {{0.1, 0.2, 0.6, 0.1}, {0.25, 0.25, 0.25, 0.25}, {0.1, 0.6, 0.1, 0.2}, {0.4, 0.4, 0.1, 0.1}};

int g_last_input = 0;
at::Tensor logits(const std::vector<int>& ids) {
  g_last_input = static_cast<int>(ids.size());
  at::Tensor out = at::zeros({static_cast<std::int64_t>(ids.size()), 4});
  for (std::size_t t = 0; t < ids.size(); ++t) {
    for (int v = 0; v < 4; ++v) out[static_cast<std::int64_t>(t)][v] = std::log(kNext[ids[t]][v]);
  }
  return out;
}

TEST(TaskScoring, TrailingSpacesOfTheContextMoveToTheContinuation) {
  const EncodedPair p = encode_pair(tokenize, "ab  ", "c");
  EXPECT_EQ(p.context, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.continuation, (std::vector<int>{2, 2, 3}));
}

TEST(TaskScoring, MultipleChoiceMatchesTheHandComputedExample) {
  // context "a", choices "c" and "bb" behind the default delimiter " ", gold 1:
  //   " c":  P(' '|a) P(c|' ')          = 0.6 x 0.2        = 0.12  -> ll -2.1203, per byte -2.1203
  //   " bb": P(' '|a) P(b|' ') P(b|b)   = 0.6 x 0.6 x 0.25 = 0.09  -> ll -2.4079, per byte -1.2040
  // acc picks " c" (wrong), acc_norm picks " bb" (right).
  const data::TaskFile f = data::parse_task_file(R"({"context": "a", "choices": ["c", "bb"], "gold": 1})", "t.jsonl");
  const DocumentScore d = score_document(f.documents[0], f.kind, logits, tokenize, 64);
  ASSERT_EQ(d.loglikelihood.size(), 2u);
  EXPECT_NEAR(d.loglikelihood[0], std::log(0.12), 1e-6);
  EXPECT_NEAR(d.loglikelihood[1], std::log(0.09), 1e-6);
  EXPECT_FALSE(d.correct);
  EXPECT_TRUE(d.correct_norm);
  const TaskScores t = summarize_task(f, {d});
  EXPECT_EQ(t.acc.mean, 0.0);
  EXPECT_EQ(t.acc_norm.mean, 1.0);
  EXPECT_NEAR(t.loglikelihood[0], std::log(0.09), 1e-6);  // the gold choice's
}

TEST(TaskScoring, LastWordIsAGreedyMatchAndItsPerplexity) {
  // "a b": P(' '|a) P(b|' ') = 0.36, both tokens the argmax: right.
  // "a c": P(' '|a) P(c|' ') = 0.12, after ' ' the argmax is b: wrong.
  // perplexity = exp(-(ln 0.36 + ln 0.12) / 2) = 1 / sqrt(0.0432) = 4.8113
  const data::TaskFile f = data::parse_task_file("{\"text\": \"a b\"}\n{\"text\": \"a c\"}\n", "lw.jsonl");
  EXPECT_EQ(f.kind, data::TaskKind::LastWord);
  std::vector<DocumentScore> scores;
  for (const auto& doc : f.documents) scores.push_back(score_document(doc, f.kind, logits, tokenize, 64));
  EXPECT_TRUE(scores[0].correct);
  EXPECT_FALSE(scores[1].correct);
  const TaskScores t = summarize_task(f, scores);
  EXPECT_EQ(t.acc.mean, 0.5);
  EXPECT_NEAR(t.acc.se, 0.5, 1e-12);  // sd of {1, 0} is sqrt(0.5); / sqrt(2)
  EXPECT_NEAR(t.perplexity, 1.0 / std::sqrt(0.0432), 1e-4);
}

TEST(TaskScoring, TheModelSeesAtMostItsPositions) {
  // context "aaaa" + " b" = 6 tokens; with 3 positions the model sees the last 4 minus the final
  // one: [a, a, ' '], and the continuation's score is unchanged by the cut.
  const ContinuationScore s = score_continuation(logits, encode_pair(tokenize, "aaaa", " b"), 3);
  EXPECT_EQ(g_last_input, 3);
  EXPECT_NEAR(s.loglikelihood, std::log(0.36), 1e-6);
  EXPECT_TRUE(s.greedy);
  EXPECT_THROW(score_continuation(logits, encode_pair(tokenize, "a", " bbbb"), 3), InvalidArgument);
}

TEST(TaskScoring, TheBundledModelScoresTheShippedTasks) {
  EvalOptions o;
  o.model_path = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";
  o.task_file = std::string(OACIM_SOURCE_DIR) + "/tests/data/tasks/tiny_choice.jsonl";
  o.backend = "float";
  o.progress = nullptr;
  const EvalResult r = run_eval(o);
  ASSERT_TRUE(r.task_run);
  EXPECT_EQ(r.task.documents, 16u);
  EXPECT_GT(r.task.acc.mean, 0.5);  // far above chance (1/3) on sentences this model's text is made of
  o.dataset = "wikitext2";
  EXPECT_THROW(run_eval(o), InvalidArgument);  // one evaluation at a time
}

}  // namespace
}  // namespace oacim::eval
