// The perplexity protocol on synthetic logits with known answers, dataset text construction, and
// stable numbers on the bundled model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>

#include "oacim/core/error.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/eval/perplexity.hpp"
#include "oacim/data/datasets.hpp"

namespace oacim::eval {
namespace {

using data::dataset_text;

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

TEST(Perplexity, RankSharesAreContiguousAndCoverEveryWindowOnce) {
  for (int windows : {0, 1, 2, 10, 11, 1000}) {
    for (int ranks : {1, 2, 3, 7}) {
      int next = 0;
      for (int r = 0; r < ranks; ++r) {
        const WindowShare s = window_share(windows, r, ranks);
        EXPECT_EQ(s.begin, next) << windows << " windows, rank " << r << " of " << ranks;
        EXPECT_LE(s.end - s.begin, windows / ranks + 1);
        EXPECT_GE(s.end - s.begin, windows / ranks);
        next = s.end;
      }
      EXPECT_EQ(next, windows);
      // Rank 0 holds window 0 whenever there is one: it samples the SystemC tokens one process would.
      if (windows > 0) EXPECT_GT(window_share(windows, 0, ranks).end, 0);
    }
  }
}

TEST(Perplexity, SharedWindowsSumToTheBitsOfOneRun) {
  std::vector<int> corpus(640);
  for (std::size_t i = 0; i < corpus.size(); ++i) corpus[i] = static_cast<int>((i * 7919) % 31);
  const auto logits = [](const std::vector<int>& w) {
    at::Tensor t = at::zeros({static_cast<std::int64_t>(w.size()), 31});
    for (std::size_t i = 0; i < w.size(); ++i) t[static_cast<std::int64_t>(i)][w[i]] = 0.3f + 0.01f * static_cast<float>(i % 5);
    return t;
  };
  const PerplexityResult one = perplexity(logits, corpus, 64, 0);
  std::vector<double> joined;
  for (int r = 0; r < 3; ++r) {
    const WindowShare s = window_share(one.windows, r, 3);
    for (const double v : window_nlls(logits, corpus, 64, s.begin, s.end)) joined.push_back(v);
  }
  const PerplexityResult three = summarize_windows(joined, 64, static_cast<std::int64_t>(corpus.size()));
  EXPECT_EQ(three.window_nll, one.window_nll);
  EXPECT_EQ(three.mean_nll, one.mean_nll);  // bit for bit: the same sum in the same order
  EXPECT_EQ(three.ppl, one.ppl);
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
  o.progress = nullptr;
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
  EXPECT_EQ(h.hw_counters.tokens, 8 * 256 * 35);  // 7 Linears x 5 layers; the classifier stays fp32
  EXPECT_GT(h.hw_counters.outlier_hits, 0);
  EXPECT_EQ(h.hw_counters.weight_bits, h.weight_bits);
  o.backend = "bogus";
  EXPECT_THROW(run_eval(o), InvalidArgument);
}

// A randomly initialised 1-layer GPT-2 with the real 50257-piece vocabulary: eval must tokenize
// with the directory's vocab.json/merges.txt and run every backend.
TEST(EvalRun, Gpt2DirectoryWithItsBpeTokenizer) {
  const std::string dir = ::testing::TempDir() + "/gpt2_eval";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string tok = std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers";
  std::filesystem::copy_file(tok + "/gpt2.encoder.json", dir + "/vocab.json");
  std::filesystem::copy_file(tok + "/gpt2.vocab.bpe", dir + "/merges.txt");
  const std::int64_t V = 50257, D = 16, F = 32, P = 64;
  Rng rng(3);
  SafetensorsWriter w;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, double scale, double mean = 0) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = static_cast<float>(mean + scale * rng.normal());
    w.add(name, DType::F32, shape, v);
  };
  add("wte.weight", {V, D}, 0.1);
  add("wpe.weight", {P, D}, 0.1);
  add("h.0.ln_1.weight", {D}, 0.0, 1.0);
  add("h.0.ln_1.bias", {D}, 0.0);
  add("h.0.ln_2.weight", {D}, 0.0, 1.0);
  add("h.0.ln_2.bias", {D}, 0.0);
  add("h.0.attn.c_attn.weight", {D, 3 * D}, 0.2);
  add("h.0.attn.c_attn.bias", {3 * D}, 0.0);
  add("h.0.attn.c_proj.weight", {D, D}, 0.2);
  add("h.0.attn.c_proj.bias", {D}, 0.0);
  add("h.0.mlp.c_fc.weight", {D, F}, 0.2);
  add("h.0.mlp.c_fc.bias", {F}, 0.0);
  add("h.0.mlp.c_proj.weight", {F, D}, 0.2);
  add("h.0.mlp.c_proj.bias", {D}, 0.0);
  add("ln_f.weight", {D}, 0.0, 1.0);
  add("ln_f.bias", {D}, 0.0);
  w.write(dir + "/model.safetensors");
  std::ofstream(dir + "/config.json") << R"({"model_type": "gpt2", "n_embd": 16, "n_layer": 1, "n_head": 2,
    "n_inner": 32, "vocab_size": 50257, "n_positions": 64})";
  EvalOptions o;
  o.model_path = dir;
  o.dataset = std::string(OACIM_SOURCE_DIR) + "/tests/data/tinystories-valid-slice.txt";
  o.seqlen = 64;
  o.max_windows = 3;
  o.progress = nullptr;
  const EvalResult f = run_eval(o);
  EXPECT_EQ(f.windows, 3);
  EXPECT_GT(f.corpus_tokens, 6000);  // ~4 characters per GPT-2 token over 30 kB
  EXPECT_TRUE(std::isfinite(f.perplexity));
  EXPECT_GT(f.perplexity, 1000.0);  // an untrained model over 50257 pieces
  o.backend = "hw";
  const EvalResult h = run_eval(o);
  EXPECT_TRUE(std::isfinite(h.perplexity));
  EXPECT_EQ(h.hw_counters.tokens, 3 * 64 * 6);  // q, k, v, c_proj, c_fc, mlp.c_proj (lm_head stays fp32)
  o.tokenizer_path = "x.model";
  EXPECT_THROW(run_eval(o), InvalidArgument);
}

}  // namespace
}  // namespace oacim::eval
