#include "oacim/core/statistics.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim {

namespace {

template <class T>
MeanEstimate estimate(const std::vector<T>& v) {
  MeanEstimate e;
  e.n = v.size();
  if (v.empty()) return e;
  double sum = 0.0;
  for (const T x : v) sum += static_cast<double>(x);
  e.mean = sum / static_cast<double>(v.size());
  if (v.size() < 2) return e;
  double sq = 0.0;
  for (const T x : v) sq += (static_cast<double>(x) - e.mean) * (static_cast<double>(x) - e.mean);
  e.se = std::sqrt(sq / static_cast<double>(v.size() - 1) / static_cast<double>(v.size()));
  return e;
}

}  // namespace

MeanEstimate mean_estimate(const std::vector<float>& values) { return estimate(values); }
MeanEstimate mean_estimate(const std::vector<double>& values) { return estimate(values); }

double quantile(std::vector<float> values, double q) {
  if (values.empty()) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  const double pos = q * static_cast<double>(values.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
  const double a = values[lo];
  if (hi == lo) return a;
  const double b = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

PairedDifference paired_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) {
    throw InvalidArgument("tokens", fmt::format("a paired difference needs the same tokens: {} vs {} values", a.size(), b.size()));
  }
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = static_cast<double>(b[i]) - static_cast<double>(a[i]);
  PairedDifference p;
  p.difference = mean_estimate(d);
  p.low = p.difference.mean - kZ95 * p.difference.se;
  p.high = p.difference.mean + kZ95 * p.difference.se;
  p.ppl_pct = 100.0 * std::expm1(p.difference.mean);
  p.ppl_pct_low = 100.0 * std::expm1(p.low);
  p.ppl_pct_high = 100.0 * std::expm1(p.high);
  return p;
}

PerplexityEstimate perplexity_estimate(const std::vector<float>& token_nll) {
  const MeanEstimate m = mean_estimate(token_nll);
  PerplexityEstimate p;
  p.ppl = std::exp(m.mean);
  p.se = p.ppl * m.se;
  return p;
}

}  // namespace oacim
