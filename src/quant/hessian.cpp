#include "oacim/quant/hessian.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::quant {

HessianAccumulator::HessianAccumulator(int cols) : h_(at::zeros({cols, cols}, at::kFloat)) {}

void HessianAccumulator::add_batch(const at::Tensor& x) {
  const at::Tensor xt = x.reshape({-1, h_.size(0)}).to(at::kFloat);
  // Running mean over calls, then the new call's 2 X X^T / n (docs/algorithms.md 1.2).
  h_.mul_(static_cast<double>(calls_) / static_cast<double>(calls_ + 1));
  ++calls_;
  tokens_ += xt.size(0);
  const double f = std::sqrt(2.0 / static_cast<double>(calls_));
  const at::Tensor xs = xt * f;
  h_.addmm_(xs.t(), xs);
}

at::Tensor dead_columns(const at::Tensor& h) { return h.diagonal() == 0; }

void fix_dead_columns(at::Tensor& h, at::Tensor& w, const at::Tensor& dead) {
  if (!dead.any().item<bool>()) return;
  const at::Tensor idx = dead.nonzero().reshape({-1});
  h.diagonal().index_fill_(0, idx, 1.0);
  w.index_fill_(1, idx, 0.0);
}

void add_damping(at::Tensor& h, float percdamp) {
  const double damp = static_cast<double>(percdamp) * h.diagonal().abs().mean().item<double>();
  h.diagonal().add_(damp);
}

at::Tensor inverse_cholesky_upper(const at::Tensor& h, const std::string& layer) {
  const auto [l, info] = at::linalg_cholesky_ex(h);
  if (info.item<int>() != 0) {
    throw InvalidArgument("percdamp", fmt::format("{}: the damped Hessian is not positive definite (leading minor {} "
                                                    "fails); raise --percdamp or add calibration data",
                                                    layer, info.item<int>()));
  }
  const at::Tensor hinv = at::cholesky_inverse(l);
  const auto [u, info2] = at::linalg_cholesky_ex(hinv, /*upper=*/true);
  if (info2.item<int>() != 0) {
    throw InvalidArgument("percdamp", fmt::format("{}: H^-1 is numerically not positive definite; raise --percdamp", layer));
  }
  return u;
}

at::Tensor lazy_block_loop(at::Tensor& w, const at::Tensor& u, const std::vector<BlockRange>& ranges,
                           const BlockQuantizer& quantize) {
  const std::int64_t cols = w.size(1);
  at::Tensor q = at::empty_like(w);
  for (const BlockRange& br : ranges) {
    const at::Tensor w1 = w.narrow(1, br.begin, br.size()).contiguous();
    at::Tensor q1 = at::empty_like(w1);
    at::Tensor err1 = at::empty_like(w1);
    quantize(br, w1, q1, err1);
    q.narrow(1, br.begin, br.size()).copy_(q1);
    if (u.defined() && br.end < cols) {
      at::Tensor rest = w.narrow(1, br.end, cols - br.end);
      rest.sub_(at::mm(err1, u.narrow(0, br.begin, br.size()).narrow(1, br.end, cols - br.end)));
    }
  }
  return q;
}

std::pair<double, double> output_error(const at::Tensor& w, const at::Tensor& q, const at::Tensor& h) {
  // One fp32 GEMM for both forms (a statistic: fp32's ~1e-6 relative error is plenty, and two fp64
  // GEMMs of R x C x C cost more than GPTQ's own updates); the sums in fp64.
  const std::int64_t rows = w.size(0);
  const at::Tensor dw = at::cat({w - q, w}, 0).contiguous();
  const at::Tensor per_row = (at::mm(dw, h) * dw).to(at::kDouble).sum(1);
  return {per_row.narrow(0, 0, rows).sum().item<double>(), per_row.narrow(0, rows, rows).sum().item<double>()};
}

}  // namespace oacim::quant
