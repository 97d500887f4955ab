#include "oacim/quant/discquant.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/model/decoder.hpp"
#include "oacim/model/quant_linear.hpp"

namespace oacim::quant {

RoundingGrid rounding_grid(const PackedCimWeights& base, const at::Tensor& w_in) {
  const int R = base.rows(), C = base.cols();
  const at::Tensor w = w_in.to(at::kFloat).contiguous();
  if (w.dim() != 2 || w.size(0) != R || w.size(1) != C) {
    throw InvalidArgument("weight", fmt::format("shape does not match the {}x{} packed grid", R, C));
  }
  // Each cell dequantizes affinely in its stored code: value = a * code + b. Two packings with
  // every cell at the lowest and the next code give a and b exactly, whatever the grid holds
  // (scales, zeros, second level, offsets); outlier quads are left as they are.
  const int lo = base.grid().code_min(), hi = base.grid().code_max();
  auto all_codes = [&](int code) {
    PackedCimParts p = base.parts();
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        if (!base.is_outlier_quad(r, c / 4)) p.codes[static_cast<std::size_t>(r) * C + c] = static_cast<std::int8_t>(code);
      }
    }
    return PackedCimWeights(std::move(p)).dequantize();
  };
  const std::vector<float> v0 = all_codes(lo), v1 = all_codes(lo + 1), fixed = base.dequantize();
  RoundingGrid g;
  g.base = base.parts();
  g.down_code = g.base.codes;
  g.up_code = g.base.codes;
  std::vector<float> down(fixed), up(fixed), y(static_cast<std::size_t>(R) * C, 0.5f), train(y.size(), 0.0f);
  const float* wp = w.data_ptr<float>();
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      const std::size_t i = static_cast<std::size_t>(r) * C + c;
      if (base.is_outlier_quad(r, c / 4)) continue;
      const double a = static_cast<double>(v1[i]) - v0[i];
      const double b = static_cast<double>(v0[i]) - a * lo;
      // Real-valued code position of w; the grid's value at a code is recomputed from the
      // packed format below, so a and b only choose the two codes.
      const double t = a != 0.0 ? (wp[i] - b) / a : 0.0;
      int cd = static_cast<int>(std::floor(t)), cu = static_cast<int>(std::ceil(t));
      if (a < 0) std::swap(cd, cu);  // a negative scale reverses the order of values
      cd = std::clamp(cd, lo, hi);
      cu = std::clamp(cu, lo, hi);
      g.down_code[i] = static_cast<std::int8_t>(cd);
      g.up_code[i] = static_cast<std::int8_t>(cu);
      train[i] = 1.0f;
    }
  }
  // Values from the format itself (bit-exact with what the packed result will dequantize to).
  PackedCimParts pd = g.base, pu = g.base;
  pd.codes = g.down_code;
  pu.codes = g.up_code;
  const std::vector<float> vd = PackedCimWeights(std::move(pd)).dequantize();
  const std::vector<float> vu = PackedCimWeights(std::move(pu)).dequantize();
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (train[i] == 0.0f) continue;
    down[i] = vd[i];
    up[i] = vu[i];
    // Float rounding of a * code + b may put w a hair outside [down, up]: y is clamped to [0, 1].
    const double span = static_cast<double>(up[i]) - down[i];
    const bool same = std::fabs(span) <= 1e-8 + 1e-5 * std::fabs(static_cast<double>(down[i]));
    y[i] = same ? 0.5f : static_cast<float>(std::clamp((wp[i] - static_cast<double>(down[i])) / span, 0.0, 1.0));
  }
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  auto tensor = [&](const std::vector<float>& v) {
    return at::from_blob(const_cast<float*>(v.data()), {R, C}, opts).clone();
  };
  g.down = tensor(down);
  g.up = tensor(up);
  g.y = tensor(y);
  g.trainable = tensor(train);
  return g;
}

at::Tensor interpolate(const RoundingGrid& g, const at::Tensor& x) { return g.down + x * (g.up - g.down); }

std::shared_ptr<const PackedCimWeights> round_to_grid(const RoundingGrid& g, const at::Tensor& x) {
  // round() of ATen rounds half to even, as torch.round does upstream.
  const at::Tensor xr = at::round(x.detach().to(at::kFloat)).contiguous();
  const float* xp = xr.data_ptr<float>();
  PackedCimParts p = g.base;
  for (std::size_t i = 0; i < p.codes.size(); ++i) {
    if (g.down_code[i] != g.up_code[i]) p.codes[i] = xp[i] >= 0.5f ? g.up_code[i] : g.down_code[i];
  }
  return std::make_shared<const PackedCimWeights>(std::move(p));
}

at::Tensor kl_divergence(const at::Tensor& teacher_logits, const at::Tensor& student_logits) {
  // log_softmax instead of upstream's log(softmax + 1e-10): the same value, no underflow at -inf.
  const at::Tensor lp = at::log_softmax(teacher_logits.to(at::kFloat), -1);
  const at::Tensor lq = at::log_softmax(student_logits.to(at::kFloat), -1);
  const std::int64_t positions = teacher_logits.numel() / teacher_logits.size(-1);
  return (lp.exp() * (lp - lq)).sum() / static_cast<double>(positions);
}

namespace {

std::map<std::string, model::QuantLinear*> block_linears_by_name(model::Decoder& m) {
  std::map<std::string, model::QuantLinear*> out;
  for (int l = 0; l < m.num_blocks(); ++l) {
    for (model::QuantLinear* lin : m.block_linears(l)) out[lin->name()] = lin;
  }
  return out;
}

}  // namespace

DiscQuantObjective::DiscQuantObjective(model::Decoder& model, std::vector<std::string> layers,
                                       std::vector<const RoundingGrid*> grids, double delta2)
    : model_(model), layers_(std::move(layers)), grids_(std::move(grids)), delta2_(delta2) {
  if (layers_.size() != grids_.size()) throw InvalidArgument("layers", "one grid per layer");
  if (!(delta2_ > 0)) throw InvalidArgument("delta2", "must be positive");
}

double DiscQuantObjective::run(const std::vector<at::Tensor>& x, const std::vector<std::vector<int>>& windows, bool grad) {
  const auto lins = block_linears_by_name(model_);
  std::vector<model::QuantLinear*> trained;
  for (const auto& name : layers_) {
    const auto it = lins.find(name);
    if (it == lins.end()) throw InvalidArgument("layers", fmt::format("the model has no block Linear '{}'", name));
    trained.push_back(it->second);
  }
  // Layers outside this objective keep what they hold (trained groups: their rounded weights),
  // but the teacher is the float model: every override is lifted for its pass.
  std::vector<std::pair<model::QuantLinear*, at::Tensor>> held;
  for (const auto& [name, lin] : lins) held.emplace_back(lin, lin->weight_override());
  auto restore = [&] {
    for (auto& [lin, w] : held) lin->set_weight_override(w);
  };
  double total = 0.0;
  try {
    for (const auto& tokens : windows) {
      at::Tensor teacher;
      {
        at::NoGradGuard no_grad;
        for (auto& [lin, w] : held) lin->set_weight_override(at::Tensor());
        teacher = model_.forward(tokens, model::Backend::Float);
        restore();
      }
      at::AutoGradMode mode(grad);
      for (std::size_t i = 0; i < trained.size(); ++i) trained[i]->set_weight_override(interpolate(*grids_[i], x[i]));
      const at::Tensor kl = kl_divergence(teacher, model_.forward(tokens, model::Backend::Float));
      const at::Tensor loss = kl / (delta2_ * static_cast<double>(windows.size()));
      if (grad) loss.backward();
      total += loss.item<double>();
      restore();
    }
  } catch (...) {
    restore();
    throw;
  }
  return total;
}

double DiscQuantObjective::loss_and_grad(const std::vector<at::Tensor>& x, const std::vector<std::vector<int>>& windows) {
  return run(x, windows, true);
}

double DiscQuantObjective::loss(const std::vector<at::Tensor>& x, const std::vector<std::vector<int>>& windows) {
  return run(x, windows, false);
}

}  // namespace oacim::quant
