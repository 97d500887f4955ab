// The comparison with the float model: KL divergence against closed forms (full distribution and
// top-k + rest), the float model against itself, the cache read for several backends, and a
// damaged cache entry detected and computed again.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>

#include "oacim/eval/eval_run.hpp"
#include "oacim/eval/float_reference.hpp"

namespace oacim::eval {
namespace {

namespace fs = std::filesystem;

// Logits of one prediction (a window of two tokens) whose softmax is `p`; second row unused.
at::Tensor logits_of(const std::vector<double>& p) {
  at::Tensor lg = at::zeros({2, static_cast<std::int64_t>(p.size())});
  for (std::size_t i = 0; i < p.size(); ++i) lg[0][static_cast<std::int64_t>(i)] = std::log(p[i]);
  return lg;
}

TEST(FloatReference, KlDivergenceOfAKnownPairIsTheClosedForm) {
  const std::vector<double> p = {0.5, 0.25, 0.125, 0.125}, q = {0.1, 0.4, 0.25, 0.25};
  const std::vector<int> window = {0, 1};  // the correct next token is 1
  FloatReference ref(4, 1, 0, true);
  ref.append(logits_of(p), window);
  TokenStats s;
  ref.compare(0, logits_of(q), window, s);
  double kld = 0;
  for (std::size_t i = 0; i < p.size(); ++i) kld += p[i] * std::log(p[i] / q[i]);
  ASSERT_EQ(s.kld.size(), 1u);
  EXPECT_NEAR(s.kld[0], kld, 1e-6);
  EXPECT_NEAR(s.delta_p[0], 0.4 - 0.25, 1e-6);
  EXPECT_NEAR(s.nll[0], -std::log(0.4), 1e-6);
  EXPECT_NEAR(s.float_nll[0], -std::log(0.25), 1e-6);
  EXPECT_EQ(s.top1_agree[0], 0);  // float's top token is 0, the backend's 1
  TokenStats same;
  ref.compare(0, logits_of(p), window, same);
  EXPECT_EQ(same.kld[0], 0.0f);
  EXPECT_EQ(same.top1_agree[0], 1);
}

TEST(FloatReference, TopKKeepsTheTopTokensAndOneRestBucket) {
  // 40 tokens: p puts 0.6 on token 3 and spreads 0.4 evenly; q is uniform. With k = 32 the float
  // model's top 32 are token 3 and 31 of the even ones, the rest bucket holds 8 of them.
  const int vocab = 40;
  std::vector<double> p(vocab, 0.4 / 39.0), q(vocab, 1.0 / vocab);
  p[3] = 0.6;
  const std::vector<int> window = {0, 3};
  FloatReference full(vocab, 1, 0, true), top(vocab, 1, 0, false);
  full.append(logits_of(p), window);
  top.append(logits_of(p), window);
  EXPECT_FALSE(top.full());
  TokenStats sf, st;
  full.compare(0, logits_of(q), window, sf);
  top.compare(0, logits_of(q), window, st);
  double exact = 0;
  for (int i = 0; i < vocab; ++i) exact += p[i] * std::log(p[i] / q[i]);
  // Coarsened: the top 32 terms plus one term for the 8 merged tokens (mass 8 * 0.4/39 vs 8/40).
  double coarse = 0.6 * std::log(0.6 / (1.0 / vocab)) + 31 * (0.4 / 39.0) * std::log((0.4 / 39.0) / (1.0 / vocab));
  const double rp = 8 * 0.4 / 39.0, rq = 8.0 / vocab;
  coarse += rp * std::log(rp / rq);
  EXPECT_NEAR(sf.kld[0], exact, 1e-5);
  EXPECT_NEAR(st.kld[0], coarse, 1e-5);
  EXPECT_LE(st.kld[0], sf.kld[0] + 1e-6);  // a lower bound
  EXPECT_NEAR(st.delta_p[0], 1.0 / vocab - 0.6, 1e-6);
  EXPECT_NEAR(st.float_nll[0], -std::log(0.6), 1e-6);
}

TEST(FloatReference, SharesTravelAndSliceWithoutChangingABit) {
  FloatReference a(8, 3, 0, false), b(8, 3, 1, false);
  const std::vector<int> w = {1, 2, 3, 4};
  a.append(at::randn({4, 8}), w);
  b.append(at::randn({4, 8}), w);
  FloatReference whole = FloatReference::from_bytes(a.to_bytes());
  whole.extend(FloatReference::from_bytes(b.to_bytes()));
  EXPECT_EQ(whole.windows(), 2);
  EXPECT_EQ(whole.slice(1, 2).to_bytes(), b.to_bytes());
  EXPECT_THROW(whole.slice(1, 3), Error);
}

class FloatComparisonRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oacim_float_reference_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  EvalResult run(const std::string& backend, int full_mib = 256, int stream_mib = 0) {
    EvalOptions o;
    o.model_path = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";
    o.dataset = std::string(OACIM_SOURCE_DIR) + "/tests/data/tinystories-valid-slice.txt";
    o.seqlen = 128;
    o.max_windows = 3;
    o.backend = backend;
    o.progress = nullptr;
    o.float_reference_dir = dir_.string();
    o.float_reference_full_mib = full_mib;
    o.stream_blocks_mib = stream_mib;
    return run_eval(o);
  }
  fs::path dir_;
};

TEST_F(FloatComparisonRun, TheFloatModelAgainstItselfHasNoDivergence) {
  const EvalResult r = run("float");
  ASSERT_TRUE(r.compared_with_float);
  EXPECT_EQ(r.vs_float.tokens, 3u * 127u);
  EXPECT_EQ(r.vs_float.kld.mean, 0.0);
  EXPECT_EQ(r.vs_float.kld_max, 0.0);
  EXPECT_EQ(r.vs_float.top1_agreement.mean, 1.0);
  EXPECT_EQ(r.vs_float.delta_p_rms, 0.0);
  EXPECT_EQ(r.vs_float.vs_float.difference.mean, 0.0);
  EXPECT_EQ(r.vs_float.basis, "full distribution");
  EXPECT_EQ(r.token_nll.size(), 3u * 127u);
  EXPECT_GT(r.perplexity_se, 0.0);
  // The per-token losses are the window losses: their mean gives the same perplexity.
  double sum = 0;
  for (const float x : r.token_nll) sum += x;
  EXPECT_NEAR(std::exp(sum / static_cast<double>(r.token_nll.size())), r.perplexity, 1e-4);
}

TEST_F(FloatComparisonRun, OneFloatRunServesEveryBackendAndADamagedEntryIsComputedAgain) {
  const EvalResult fq = run("fakequant");
  EXPECT_NE(fq.float_reference_status.find("computed"), std::string::npos) << fq.float_reference_status;
  const EvalResult hw = run("hw");
  EXPECT_EQ(hw.float_reference_status, "read from the cache");
  const EvalResult fl = run("float");
  EXPECT_EQ(fl.float_reference_status, "read from the cache");
  EXPECT_EQ(fl.vs_float.kld.mean, 0.0);
  EXPECT_GT(fq.vs_float.kld.mean, 0.0);
  EXPECT_GT(hw.vs_float.kld.mean, 0.0);
  EXPECT_LT(fq.vs_float.top1_agreement.mean, 1.0);
  // The loss difference to float is the perplexity ratio's logarithm.
  EXPECT_NEAR(fq.vs_float.vs_float.ppl_pct, 100.0 * (fq.perplexity / fl.perplexity - 1.0), 0.01);
  // Damage one stored number: the checksum catches it and the entry is computed again, same numbers.
  const std::string file = hw.float_reference_file;
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) / 2));
    f.put('\x7f');
  }
  const EvalResult again = run("hw");
  EXPECT_NE(again.float_reference_status.find("unusable"), std::string::npos) << again.float_reference_status;
  EXPECT_EQ(again.vs_float.kld.mean, hw.vs_float.kld.mean);
  EXPECT_EQ(run("hw").float_reference_status, "read from the cache");
}

// Block-streamed, the evaluated pass and the float reference computed beside it (the source model,
// streamed too) give window by window's numbers.
TEST_F(FloatComparisonRun, StreamedBlocksGiveTheSameComparison) {
  const EvalResult whole = run("fakequant");
  fs::remove_all(dir_);
  const EvalResult streamed = run("fakequant", 256, 1);
  EXPECT_NE(streamed.float_reference_status.find("computed"), std::string::npos) << streamed.float_reference_status;
  EXPECT_EQ(streamed.window_nll, whole.window_nll);
  EXPECT_EQ(streamed.vs_float.kld.mean, whole.vs_float.kld.mean);
  EXPECT_EQ(streamed.vs_float.top1_agreement.mean, whole.vs_float.top1_agreement.mean);
  EXPECT_EQ(streamed.token_nll, whole.token_nll);
}

TEST_F(FloatComparisonRun, BeyondTheSizeBoundTheTopTokensAreKept) {
  const EvalResult full = run("fakequant");
  const EvalResult top = run("fakequant", 0);
  EXPECT_NE(top.vs_float.basis.find("top-32"), std::string::npos);
  EXPECT_NE(top.float_reference_file, full.float_reference_file);  // its own cache entry
  EXPECT_LE(top.vs_float.kld.mean, full.vs_float.kld.mean + 1e-9);
  EXPECT_GT(top.vs_float.kld.mean, 0.5 * full.vs_float.kld.mean);  // most of the mass is in the top 32
  EXPECT_EQ(top.vs_float.top1_agreement.mean, full.vs_float.top1_agreement.mean);
}

}  // namespace
}  // namespace oacim::eval
