// The perplexity protocol on synthetic logits with known answers, dataset text construction, and
// stable numbers on the bundled model.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <ATen/ATen.h>

#include "oacim/core/error.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/eval/perplexity.hpp"

namespace oacim::eval {
namespace {

TEST(Perplexity, UniformLogitsGiveTheVocabularySize) {
  std::vector<int> corpus(1000);
  for (std::size_t i = 0; i < corpus.size(); ++i) corpus[i] = static_cast<int>(i % 50);
  int calls = 0;
  const auto uniform = [&](const std::vector<int>& w) {
    ++calls;
    return at::zeros({static_cast<std::int64_t>(w.size()), 50});
  };
  const PerplexityResult r = perplexity(uniform, corpus, 128, 0);
  EXPECT_EQ(r.windows, 7);  // floor(1000 / 128), tail dropped
  EXPECT_EQ(calls, 7);
  EXPECT_EQ(r.tokens, 7 * 128);
  EXPECT_NEAR(r.ppl, 50.0, 1e-3);
  EXPECT_EQ(perplexity(uniform, corpus, 128, 3).windows, 3);
}

TEST(Perplexity, WindowLossIsTheMeanOverSeqlenMinusOnePredictions) {
  // Logits that put all mass on the right next token except at one position per window.
  const std::vector<int> corpus = {0, 1, 2, 3, 0, 1, 2, 3};
  const auto fn = [](const std::vector<int>& w) {
    at::Tensor lg = at::full({static_cast<std::int64_t>(w.size()), 4}, -1e9);
    for (std::size_t t = 0; t + 1 < w.size(); ++t) lg[static_cast<std::int64_t>(t)][w[t + 1]] = 0.0;
    lg[0].fill_(0.0);  // the first prediction of each window is uniform over 4
    return lg;
  };
  const PerplexityResult r = perplexity(fn, corpus, 4, 0);
  ASSERT_EQ(r.windows, 2);
  EXPECT_NEAR(r.window_nll[0], std::log(4.0) / 3.0, 1e-6);  // one loss of log 4 over 3 predictions
  EXPECT_NEAR(r.ppl, std::exp(std::log(4.0) / 3.0), 1e-6);
}

TEST(Perplexity, RejectsImpossibleWindows) {
  const auto fn = [](const std::vector<int>& w) { return at::zeros({static_cast<std::int64_t>(w.size()), 4}); };
  EXPECT_THROW(perplexity(fn, {1, 2, 3}, 8, 0), InvalidArgument);
  EXPECT_THROW(perplexity(fn, {1, 2, 3}, 1, 0), InvalidArgument);
}

TEST(DatasetText, WikitextRowsJoinedWithBlankLines) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/wiki.test.raw", std::ios::binary) << " = A = \n\n b c \n";
  EXPECT_EQ(dataset_text("wikitext2", dir), " = A = \n" "\n\n" "\n" "\n\n" " b c \n");
  std::ofstream(dir + "/ptb.test.txt", std::ios::binary) << " a b\n c d\n";
  EXPECT_EQ(dataset_text("ptb-new", dir), " a b  c d");
  EXPECT_THROW(dataset_text("c4", dir), InvalidArgument);
  EXPECT_THROW(dataset_text(dir + "/missing.txt", dir), FormatError);
}

TEST(EvalRun, BundledModelGivesStableNumbers) {
  EvalOptions o;
  o.model_path = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";
  o.dataset = std::string(OACIM_SOURCE_DIR) + "/tests/data/tinystories-valid-slice.txt";
  o.seqlen = 256;
  o.max_windows = 8;
  o.progress = false;
  const EvalResult a = run_eval(o);
  const EvalResult b = run_eval(o);
  EXPECT_EQ(a.perplexity, b.perplexity);
  EXPECT_EQ(a.windows, 8);
  EXPECT_GT(a.perplexity, 3.0);  // a 260K-parameter model on its own domain
  EXPECT_LT(a.perplexity, 10.0);
  o.backend = "hw";
  o.quant.outliers = true;
  o.quant.offsets = true;
  const EvalResult h = run_eval(o);
  EXPECT_GT(h.perplexity, a.perplexity);  // 4-bit RTN loses accuracy
  EXPECT_LT(h.perplexity, 2 * a.perplexity);
  EXPECT_EQ(h.hw_counters.tokens, 8 * 256 * 36);  // 7 Linears x 5 layers + the classifier
  EXPECT_GT(h.hw_counters.outlier_hits, 0);
  EXPECT_EQ(h.hw_counters.weight_bits, h.weight_bits);
  o.backend = "bogus";
  EXPECT_THROW(run_eval(o), InvalidArgument);
}

}  // namespace
}  // namespace oacim::eval
