#pragma once
// Summary statistics of per-token evaluation numbers (docs/signoff.md, "Reading the statistics"):
// means with their standard error, quantiles, and the paired difference of two backends' losses on
// the same tokens with a 95 % confidence interval. The standard errors treat tokens as independent,
// as llama.cpp's perplexity tool does; the sums run in double in index order (the same bits for
// the same values, whatever the thread or rank count). No torch.
#include <cstddef>
#include <vector>

namespace oacim {

// Mean and its standard error, sample standard deviation (n - 1) / sqrt(n); se = 0 below 2 values.
struct MeanEstimate {
  double mean = 0.0;
  double se = 0.0;
  std::size_t n = 0;
};
MeanEstimate mean_estimate(const std::vector<float>& values);
MeanEstimate mean_estimate(const std::vector<double>& values);

// The q-quantile (0 <= q <= 1) with linear interpolation between order statistics (numpy's
// default); 0 for no values.
double quantile(std::vector<float> values, double q);

// The z of a two-sided 95 % normal interval.
inline constexpr double kZ95 = 1.959963984540054;

// Paired difference b - a of two runs on the same items (per-token losses in nats, or 0/1 per
// document for task accuracy): its mean, standard error and 95 % interval, and for losses the same
// as a perplexity change in percent, 100 * (exp(d) - 1), with its interval (the exponential is
// monotone, so the interval maps end to end). InvalidArgument when the lengths differ.
struct PairedDifference {
  MeanEstimate difference;     // of b - a, per pair
  double low = 0.0, high = 0.0;  // 95 % interval of the mean difference
  double ppl_pct = 0.0, ppl_pct_low = 0.0, ppl_pct_high = 0.0;
};
PairedDifference paired_difference(const std::vector<float>& a, const std::vector<float>& b);

// Perplexity exp(mean) of per-token losses, and its standard error by the delta method
// (ppl * se of the mean loss).
struct PerplexityEstimate {
  double ppl = 0.0;
  double se = 0.0;
};
PerplexityEstimate perplexity_estimate(const std::vector<float>& token_nll);

}  // namespace oacim
