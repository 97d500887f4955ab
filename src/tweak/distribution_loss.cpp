#include "oacim/tweak/distribution_loss.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::tweak {

at::Tensor channel_distribution_loss(const at::Tensor& f, const at::Tensor& q) {
  if (f.sizes() != q.sizes() || f.dim() < 2 || f.dim() > 3 || f.size(-2) < 2) {
    throw InvalidArgument("distribution loss", "needs two [T, C] or [B, T, C] tensors of one shape with T >= 2");
  }
  const at::Tensor dmean = (f.mean(-2) - q.mean(-2)).abs();
  const at::Tensor dvar = (f.var(-2, /*unbiased=*/true) - q.var(-2, /*unbiased=*/true)).abs();
  return (dmean + dvar).mean();  // mean over channels (and samples) = (1/C) sum_c, averaged over B
}

}  // namespace oacim::tweak
