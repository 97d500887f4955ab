#pragma once
// Per predicted token of an evaluation, in window order, the backend's loss and its comparison with
// the float model (eval/float_reference.hpp computes them), and the numbers a sign-off reads from
// them: mean KL divergence with its standard error, median, 99th percentile and maximum, top-1
// agreement, RMS change of the correct token's probability, and the paired loss difference to the
// float model with a 95 % interval (core/statistics.hpp). No torch.
#include <cstdint>
#include <string>
#include <vector>

#include "oacim/core/statistics.hpp"

namespace oacim::eval {

// Per predicted token, in window order: the backend's loss and the comparison with the float model.
struct TokenStats {
  std::vector<float> nll;        // backend, nats
  std::vector<float> float_nll;  // float model, nats
  std::vector<float> kld;        // KL(float || backend), nats
  std::vector<float> delta_p;    // p_backend(correct) - p_float(correct)
  std::vector<std::uint8_t> top1_agree;
  void append(const TokenStats& other);
  std::string to_bytes() const;
  static TokenStats from_bytes(const std::string& bytes);
};

// The numbers a sign-off reads from TokenStats.
struct TokenComparison {
  std::string basis;  // "full distribution" | "top-32 tokens + rest (lower bound of the KL divergence)"
  std::size_t tokens = 0;
  MeanEstimate kld;
  double kld_median = 0.0, kld_p99 = 0.0, kld_max = 0.0;
  MeanEstimate top1_agreement;  // fraction of tokens
  double delta_p_rms = 0.0;
  MeanEstimate delta_p;
  PairedDifference vs_float;  // the backend's loss minus the float model's, per token
};
TokenComparison compare_tokens(const TokenStats& stats, const std::string& basis);

}  // namespace oacim::eval
