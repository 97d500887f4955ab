// Statistics of per-token numbers against direct computations, and the per-token values file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "oacim/core/error.hpp"
#include "oacim/core/statistics.hpp"
#include "oacim/core/token_values_file.hpp"

namespace {

TEST(Statistics, MeanAndStandardErrorMatchADirectComputation) {
  const std::vector<float> v = {1.0f, 2.0f, 4.0f, 7.0f};
  const oacim::MeanEstimate e = oacim::mean_estimate(v);
  // mean 3.5; deviations -2.5 -1.5 0.5 3.5 -> squares 6.25 2.25 0.25 12.25 = 21; var 7; se sqrt(7/4)
  EXPECT_DOUBLE_EQ(e.mean, 3.5);
  EXPECT_NEAR(e.se, std::sqrt(7.0 / 4.0), 1e-12);
  EXPECT_EQ(e.n, 4u);
  EXPECT_EQ(oacim::mean_estimate(std::vector<float>{5.0f}).se, 0.0);
  EXPECT_EQ(oacim::mean_estimate(std::vector<float>{}).mean, 0.0);
}

TEST(Statistics, QuantilesInterpolateLikeNumpy) {
  const std::vector<float> v = {4.0f, 1.0f, 3.0f, 2.0f, 5.0f};
  EXPECT_DOUBLE_EQ(oacim::quantile(v, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(oacim::quantile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(oacim::quantile(v, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(oacim::quantile(v, 0.99), 4.96);  // numpy.quantile([1..5], 0.99)
  EXPECT_DOUBLE_EQ(oacim::quantile({1.0f, 2.0f}, 0.25), 1.25);
}

TEST(Statistics, PairedDifferenceGivesTheIntervalOfThePerplexityChange) {
  const std::vector<float> a = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::vector<float> b = {1.5f, 2.0f, 3.5f, 4.2f};  // differences 0.5 0 0.5 0.2
  const oacim::PairedDifference d = oacim::paired_difference(a, b);
  const double mean = 0.3;
  const double var = ((0.2 * 0.2) + (0.3 * 0.3) + (0.2 * 0.2) + (0.1 * 0.1)) / 3.0;
  const double se = std::sqrt(var / 4.0);
  EXPECT_NEAR(d.difference.mean, mean, 1e-7);
  EXPECT_NEAR(d.difference.se, se, 1e-7);
  EXPECT_NEAR(d.low, mean - 1.959963984540054 * se, 1e-7);
  EXPECT_NEAR(d.ppl_pct, 100.0 * (std::exp(mean) - 1.0), 1e-5);
  EXPECT_NEAR(d.ppl_pct_high, 100.0 * (std::exp(mean + 1.959963984540054 * se) - 1.0), 1e-5);
  EXPECT_THROW(oacim::paired_difference(a, {1.0f}), oacim::InvalidArgument);
}

TEST(Statistics, PerplexityStandardErrorByTheDeltaMethod) {
  const std::vector<float> nll = {1.0f, 2.0f, 3.0f};
  const oacim::PerplexityEstimate p = oacim::perplexity_estimate(nll);
  EXPECT_NEAR(p.ppl, std::exp(2.0), 1e-9);
  EXPECT_NEAR(p.se, std::exp(2.0) * std::sqrt(1.0 / 3.0), 1e-9);
}

TEST(TokenValuesFile, RoundTripsAndDetectsDamage) {
  const std::string path = (std::filesystem::temp_directory_path() / "oacim_token_values_test.safetensors").string();
  oacim::TokenValues t{{0.5f, 1.25f, 3.0f}, {{"oacim.backend", "hw"}}};
  oacim::write_token_values(path, t);
  const oacim::TokenValues back = oacim::read_token_values(path);
  EXPECT_EQ(back.values, t.values);
  EXPECT_EQ(back.metadata.at("oacim.backend"), "hw");
  {  // flip a bit of the last value
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-1, std::ios::end);
    char c = 0;
    f.get(c);
    f.seekp(-1, std::ios::end);
    f.put(static_cast<char>(c ^ 0x01));
  }
  try {
    (void)oacim::read_token_values(path);
    FAIL() << "a damaged file was read";
  } catch (const oacim::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
