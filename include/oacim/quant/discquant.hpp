#pragma once
// DiscQuant (docs/algorithms.md D; arXiv 2501.06417): each weight w lies between two neighbouring
// points of its grid, down <= w <= up; a parameter x in [0, 1] per weight interpolates between
// them and is learned by distillation, KL(teacher || student) over all positions divided by the
// layer-mean delta^2, plus the linear rounding term <1 - 2y, x> (y = the x that reproduces W),
// with AdamW and a cosine schedule with linear warm-up; at the end x is rounded (half to even) and
// every weight is one of its two grid points. The grid is the RTN pass of the same options (the
// OA-CIM grid: per-(row, block) scales and zeros, and with --outliers / --offsets the RTN pass's
// outliers and column offsets), held fixed, so the result is an ordinary PackedCimWeights.
// Only x gets gradients (the model's weights are frozen). Needs libtorch.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/quant/discquant_options.hpp"
#include "oacim/quant/layer_quant_options.hpp"
#include "oacim/quant/layer_quant_stats.hpp"

namespace oacim::model {
class Decoder;
}

namespace oacim::quant {

// The two grid points around every weight of one layer, on the grid of `base` (its scales, zeros,
// offsets and outliers fixed). Cells of outlier quads are not trainable: down = up = their value.
struct RoundingGrid {
  at::Tensor down, up;   // [R, C] fp32: dequantized values of the codes at or below / at or above W
  at::Tensor y;          // [R, C] (W - down) / (up - down), 0.5 where up == down; x = y gives W
  at::Tensor trainable;  // [R, C] fp32 1/0: 0 in outlier quads
  std::vector<std::int8_t> down_code, up_code;  // stored codes [R * C]
  PackedCimParts base;
};
// Weights beyond the grid's range get down = up = the end level (y = 0.5; their value cannot
// change). InvalidArgument when the shapes differ.
RoundingGrid rounding_grid(const PackedCimWeights& base, const at::Tensor& w);
// (1 - x) down + x up, differentiable in x.
at::Tensor interpolate(const RoundingGrid& grid, const at::Tensor& x);
// x rounded half to even, each weight stored as its down or up code.
std::shared_ptr<const PackedCimWeights> round_to_grid(const RoundingGrid& grid, const at::Tensor& x);

// KL(teacher || student) summed over the vocabulary, averaged over positions (nats per token).
at::Tensor kl_divergence(const at::Tensor& teacher_logits, const at::Tensor& student_logits);

// The training objective over a model whose listed Linears take interpolated weights: for x (one
// tensor per Linear), L(x) = mean over windows of KL(teacher || student) / delta2, the teacher
// being the same model with its float weights. loss_and_grad fills x[i].grad with dL/dx.
class DiscQuantObjective {
 public:
  DiscQuantObjective(model::Decoder& model, std::vector<std::string> layers, std::vector<const RoundingGrid*> grids,
                     double delta2);
  double loss_and_grad(const std::vector<at::Tensor>& x, const std::vector<std::vector<int>>& windows);
  double loss(const std::vector<at::Tensor>& x, const std::vector<std::vector<int>>& windows);  // no gradient

 private:
  double run(const std::vector<at::Tensor>& x, const std::vector<std::vector<int>>& windows, bool grad);
  model::Decoder& model_;
  std::vector<std::string> layers_;
  std::vector<const RoundingGrid*> grids_;
  double delta2_;
};

struct DiscQuantResult {
  std::vector<LayerQuantStats> layers;
  std::vector<DiscQuantStep> log;
  double delta2 = 0.0;       // mean over layers of 12 * mean((W_rtn - W)^2)
  double kl_rtn = 0.0;       // KL of the RTN model on the first windows (before training)
  double kl_final = 0.0;     // KL of the rounded result on the same windows
  bool complete = true;      // false: stopped by stop_after; the checkpoint holds the state
};

// Quantizes every block Linear of `model` in place (set_packed). `windows` are the calibration
// token windows; `layer` gives the grid (its method must be DiscQuant). `progress` gets every
// logged step (and, with group -1, the step a checkpoint resumed after).
DiscQuantResult discquant_model(model::Decoder& model, const std::vector<std::vector<int>>& windows,
                                const LayerQuantOptions& layer, const DiscQuantOptions& options,
                                const std::function<void(const DiscQuantStep&, int steps_total)>& progress = {});

}  // namespace oacim::quant
