#include "oacim/eval/token_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "oacim/core/error.hpp"
#include "byte_fields.hpp"

namespace oacim::eval {

void TokenStats::append(const TokenStats& o) {
  append_to(nll, o.nll);
  append_to(float_nll, o.float_nll);
  append_to(kld, o.kld);
  append_to(delta_p, o.delta_p);
  append_to(top1_agree, o.top1_agree);
}

std::string TokenStats::to_bytes() const {
  std::string out;
  put(out, nll);
  put(out, float_nll);
  put(out, kld);
  put(out, delta_p);
  put(out, top1_agree);
  return out;
}

TokenStats TokenStats::from_bytes(const std::string& bytes) {
  std::size_t at = 0;
  TokenStats s;
  s.nll = take<float>(bytes, at);
  s.float_nll = take<float>(bytes, at);
  s.kld = take<float>(bytes, at);
  s.delta_p = take<float>(bytes, at);
  s.top1_agree = take<std::uint8_t>(bytes, at);
  return s;
}

TokenComparison compare_tokens(const TokenStats& s, const std::string& basis) {
  TokenComparison c;
  c.basis = basis;
  c.tokens = s.kld.size();
  c.kld = mean_estimate(s.kld);
  c.kld_median = quantile(s.kld, 0.5);
  c.kld_p99 = quantile(s.kld, 0.99);
  c.kld_max = s.kld.empty() ? 0.0 : *std::max_element(s.kld.begin(), s.kld.end());
  c.top1_agreement = mean_estimate(std::vector<float>(s.top1_agree.begin(), s.top1_agree.end()));
  c.delta_p = mean_estimate(s.delta_p);
  double sq = 0.0;
  for (const float d : s.delta_p) sq += static_cast<double>(d) * d;
  c.delta_p_rms = s.delta_p.empty() ? 0.0 : std::sqrt(sq / static_cast<double>(s.delta_p.size()));
  c.vs_float = paired_difference(s.float_nll, s.nll);
  return c;
}

}  // namespace oacim::eval
