#pragma once
// The pieces GPTQ and OA share (docs/algorithms.md 1.2-1.4): the Hessian accumulated from a Linear's
// inputs, dead columns and damping, the upper Cholesky factor U of H^-1, and the lazy block loop
// that quantizes column ranges one after another and pushes each range's scaled errors onto the
// columns after it (W[:, e:] -= Err[:, b:e] U[b:e, e:]). fp32 on CPU, as upstream.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/core/quant_grid.hpp"

namespace oacim::quant {

// H = (2 / N) sum over calls of X X^T, N = number of calls (sequences), X = inputs [tokens, C].
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int cols);
  void add_batch(const at::Tensor& x);  // x [..., C]; one call counts as one sequence
  const at::Tensor& matrix() const { return h_; }
  std::int64_t calls() const { return calls_; }
  std::int64_t tokens() const { return tokens_; }

 private:
  at::Tensor h_;
  std::int64_t calls_ = 0;
  std::int64_t tokens_ = 0;
};

// diag(H) == 0 (a column no calibration input ever used).
at::Tensor dead_columns(const at::Tensor& h);
// H[dead, dead] = 1 and W[:, dead] = 0, in place.
void fix_dead_columns(at::Tensor& h, at::Tensor& w, const at::Tensor& dead);
// H += percdamp * mean(|diag H|) * I, in place.
void add_damping(at::Tensor& h, float percdamp);
// U upper-triangular with H^-1 = U^T U. Throws InvalidArgument("percdamp") naming `layer` when
// H is not positive definite.
at::Tensor inverse_cholesky_upper(const at::Tensor& h, const std::string& layer);

// Quantizes W's column ranges in order (W already in processing order). For each range the
// callback gets W1 = W[:, b:e] (a contiguous copy [R, e-b] with the earlier ranges' updates) and
// fills Q1 (dequantized values) and Err1 (scaled errors), both [R, e-b] contiguous fp32.
using BlockQuantizer = std::function<void(const BlockRange& range, const at::Tensor& w1, at::Tensor& q1, at::Tensor& err1)>;
// Returns Q [R, C] in processing order. W is updated in place (its columns past each range);
// an undefined `u` means no error feedback (RTN: every range quantizes its own values).
at::Tensor lazy_block_loop(at::Tensor& w, const at::Tensor& u, const std::vector<BlockRange>& ranges,
                           const BlockQuantizer& quantize);

// tr((W - Q) H (W - Q)^T) and tr(W H W^T): the Hessian-weighted output error (H symmetric; its
// lower triangle is read). fp32 products of the Gram matrices' lower block triangle, fp64 sums.
std::pair<double, double> output_error(const at::Tensor& w, const at::Tensor& q, const at::Tensor& h);

}  // namespace oacim::quant
