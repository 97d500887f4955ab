#pragma once
// The channel-wise distribution loss of Norm Tweaking (docs/algorithms.md C.1/C.2):
//   L = (1/C) sum_c ( |mean_T f_c - mean_T q_c| + |var_T f_c - var_T q_c| )
// with statistics over the token axis (dim -2) and the unbiased variance (N - 1), as the paper
// writes it and NT computes it. Inputs [T, C] or [B, T, C] (then the mean over the B samples).
#include <ATen/core/Tensor.h>

namespace oacim::tweak {

at::Tensor channel_distribution_loss(const at::Tensor& f, const at::Tensor& q);

}  // namespace oacim::tweak
