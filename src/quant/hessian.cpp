#include "oacim/quant/hessian.hpp"

#include <algorithm>

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
    // A copy even when the range is every column (contiguous() would alias W there, and the
    // callback's in-block updates would then reach the statistics GPTQ reads from W).
    const at::Tensor w1 = w.narrow(1, br.begin, br.size()).clone(at::MemoryFormat::Contiguous);
    at::Tensor q1 = at::empty_like(w1);
    at::Tensor err1 = at::empty_like(w1);
    quantize(br, w1, q1, err1);
    q.narrow(1, br.begin, br.size()).copy_(q1);
    if (u.defined() && br.end < cols) {
      // In place (beta 1, alpha -1): the GEMM writes into W's columns without a [R, rest] temporary.
      at::Tensor rest = w.narrow(1, br.end, cols - br.end);
      rest.addmm_(err1, u.narrow(0, br.begin, br.size()).narrow(1, br.end, cols - br.end), 1.0, -1.0);
    }
  }
  return q;
}

namespace {

// tr(A H A^T) = sum_ij H_ij (A^T A)_ij over the lower block triangle of the symmetric A^T A, a
// column panel at a time: R C^2 FLOPs instead of the 2 R C^2 of (A H) . A. fp32 products (a
// statistic: fp32's ~1e-6 relative error is plenty), the sums in fp64.
double weighted_gram_trace(const at::Tensor& a, const at::Tensor& h) {
  constexpr std::int64_t kPanel = 256;
  const std::int64_t cols = a.size(1);
  double total = 0.0;
  for (std::int64_t j0 = 0; j0 < cols; j0 += kPanel) {
    const std::int64_t jb = std::min(kPanel, cols - j0);
    const at::Tensor gram = at::mm(a.narrow(1, j0, cols - j0).t(), a.narrow(1, j0, jb));  // (A^T A)[j0:, j0:j0+jb]
    const at::Tensor weighted = (gram * h.narrow(0, j0, cols - j0).narrow(1, j0, jb)).to(at::kDouble);
    total += weighted.narrow(0, 0, jb).sum().item<double>();                              // the diagonal panel, whole
    if (cols - j0 > jb) total += 2.0 * weighted.narrow(0, jb, cols - j0 - jb).sum().item<double>();  // below it, twice
  }
  return total;
}

}  // namespace

std::pair<double, double> output_error(const at::Tensor& w, const at::Tensor& q, const at::Tensor& h) {
  const at::Tensor wf = w.to(at::kFloat).contiguous();
  const at::Tensor hf = h.to(at::kFloat).contiguous();
  return {weighted_gram_trace((wf - q.to(at::kFloat)).contiguous(), hf), weighted_gram_trace(wf, hf)};
}

}  // namespace oacim::quant
