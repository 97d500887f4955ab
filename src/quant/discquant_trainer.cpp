// DiscQuant's training loop (docs/algorithms.md D.3) over a whole model, in named steps: the RTN
// grids and delta^2, the seeded initial x and window order, resuming from a checkpoint, training
// each group of blocks with AdamW and the clamped, rho-scaled KL gradient plus the linear rounding
// term, rounding a finished group onto its grid, and the per-layer statistics of the result.
#include <algorithm>
#include <chrono>
#include <filesystem>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "discquant_checkpoint.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/model/decoder.hpp"
#include "oacim/model/quant_linear.hpp"
#include "oacim/optim/adam.hpp"
#include "oacim/quant/discquant.hpp"
#include "oacim/quant/layer_quantizer.hpp"

namespace oacim::quant {

namespace {

at::Tensor tensor_from(const std::vector<float>& v, at::IntArrayRef shape) {
  return at::from_blob(const_cast<float*>(v.data()), shape, at::TensorOptions().dtype(at::kFloat)).clone();
}

class DiscQuantTrainer {
 public:
  DiscQuantTrainer(model::Decoder& m, const std::vector<std::vector<int>>& windows, const LayerQuantOptions& layer,
                   const DiscQuantOptions& o, const std::function<void(const DiscQuantStep&, int)>& progress)
      : m_(m), windows_(windows), layer_(layer), o_(o), progress_(progress), rng_(o.seed) {}

  DiscQuantResult run() {
    const auto t0 = std::chrono::steady_clock::now();
    prepare_grids();
    init_x();
    res_.kl_rtn = model_kl([](const Layer& L) { return at::round(L.grid.y); });
    group_blocks_ = o_.blocks_at_once > 0 ? o_.blocks_at_once : m_.num_blocks();
    groups_ = (m_.num_blocks() + group_blocks_ - 1) / group_blocks_;
    shuffle_windows();
    resume();
    for (int gi = start_group_; gi < groups_; ++gi) {
      if (!train_group(gi, gi == start_group_ ? start_step_ : 0)) {
        for (Layer& L : layers_) L.lin->set_weight_override(at::Tensor());
        res_.complete = false;
        return res_;
      }
      finalize_group(gi);
      save(gi + 1, 0, nullptr);
    }
    res_.kl_final = model_kl([](const Layer& L) { return at::round(L.x.detach()); });
    layer_statistics(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return res_;
  }

 private:
  struct Layer {
    model::QuantLinear* lin = nullptr;
    int block = 0;
    RoundingGrid grid;
    at::Tensor x;
    LayerQuantStats stats;
  };

  // The grid of every block Linear from the RTN pass of the same options, and delta^2.
  void prepare_grids() {
    LayerQuantOptions rtn = layer_;
    rtn.method = Method::Rtn;
    double delta2 = 0.0;
    for (int l = 0; l < m_.num_blocks(); ++l) {
      for (model::QuantLinear* lin : m_.block_linears(l)) {
        lin->set_weight_override(at::Tensor());
        // With incoherence the grid, x and the interpolated weights live in the rotated space.
        const at::Tensor w = lin->quantization_weight();
        const LayerQuantResult r = quantize_layer(lin->name(), w, at::Tensor(), rtn);
        Layer L;
        L.lin = lin;
        L.block = l;
        L.grid = rounding_grid(*r.packed, w);
        L.stats = r.stats;
        delta2 += 12.0 * (r.dequantized - w).pow(2).mean().item<double>();
        layers_.push_back(std::move(L));
      }
    }
    delta2 /= static_cast<double>(layers_.size());
    if (!(delta2 > 0)) throw InvalidArgument("method", "RTN reproduces every weight exactly: nothing to learn");
    res_.delta2 = delta2;
  }

  // Initial x, seeded and independent of libtorch's generator.
  void init_x() {
    for (Layer& L : layers_) {
      if (o_.init == "orig") {
        L.x = L.grid.y.clone();
      } else {
        std::vector<float> v(static_cast<std::size_t>(L.grid.y.numel()));
        for (float& f : v) f = static_cast<float>(rng_.uniform());
        L.x = tensor_from(v, L.grid.y.sizes());
      }
      L.x = (L.x * L.grid.trainable).set_requires_grad(true);
    }
  }

  // Windows in a seeded order, cycled.
  void shuffle_windows() {
    order_.resize(windows_.size());
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    for (std::size_t i = order_.size(); i > 1; --i) {
      std::swap(order_[i - 1], order_[static_cast<std::size_t>(rng_.uniform() * static_cast<double>(i))]);
    }
  }

  // KL of the model with x_of(layer) rounded in, on the first windows.
  double model_kl(const std::function<at::Tensor(const Layer&)>& x_of) {
    const std::size_t n_eval = std::min<std::size_t>(windows_.size(), 4);
    const std::vector<std::vector<int>> eval_windows(windows_.begin(), windows_.begin() + static_cast<std::ptrdiff_t>(n_eval));
    std::vector<std::string> names;
    std::vector<const RoundingGrid*> grids;
    std::vector<at::Tensor> xs;
    for (const Layer& L : layers_) {
      names.push_back(L.lin->name());
      grids.push_back(&L.grid);
      xs.push_back(x_of(L));
    }
    return DiscQuantObjective(m_, names, grids, 1.0).loss(xs, eval_windows);
  }

  bool in_group(const Layer& L, int gi) const { return L.block / group_blocks_ == gi; }

  // A finished group is final: later groups train on top of its rounded weights.
  void finalize_group(int gi) {
    for (Layer& L : layers_) {
      if (!in_group(L, gi)) continue;
      auto packed = round_to_grid(L.grid, L.x);
      L.lin->set_packed(packed, nullptr);
      L.lin->set_weight_override(tensor_from(packed->dequantize(), L.grid.y.sizes()));
    }
  }

  void save(int gi, int next_step, const optim::Adam* adam) {
    if (o_.checkpoint_file.empty()) return;
    DiscQuantCheckpoint c;
    c.group = gi;
    c.step = next_step;
    c.window = next_window_;
    c.adam_steps = adam ? adam->steps() : 0;
    c.log = res_.log;
    std::size_t k = 0;
    for (const Layer& L : layers_) {
      DiscQuantCheckpoint::Layer cl{L.lin->name(), L.x, {}, {}};
      if (adam && in_group(L, gi)) {
        cl.m = adam->first_moments()[k];
        cl.v = adam->second_moments()[k];
        ++k;
      }
      c.layers.push_back(std::move(cl));
    }
    write_discquant_checkpoint(o_.checkpoint_file, o_.checkpoint_key, c);
  }

  void resume() {
    if (o_.checkpoint_file.empty() || !std::filesystem::exists(o_.checkpoint_file)) return;
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes;
    for (const Layer& L : layers_) shapes.emplace_back(L.lin->name(), std::vector<std::int64_t>(L.grid.y.sizes().begin(), L.grid.y.sizes().end()));
    const DiscQuantCheckpoint c = read_discquant_checkpoint(o_.checkpoint_file, o_.checkpoint_key, shapes);
    if (c.group < 0 || c.group > groups_ || c.step < 0 || c.step > o_.steps || c.window >= order_.size()) {
      throw FormatError(o_.checkpoint_file, "checkpoint position outside this run");
    }
    start_group_ = c.group;
    start_step_ = c.step;
    next_window_ = c.window;
    adam_steps_ = c.adam_steps;
    res_.log = c.log;
    at::NoGradGuard no_grad;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      Layer& L = layers_[i];
      L.x.copy_(c.layers[i].x);
      if (start_step_ > 0 && in_group(L, start_group_)) {
        saved_m_.push_back(c.layers[i].m);
        saved_v_.push_back(c.layers[i].v);
      }
    }
    for (int gi = 0; gi < start_group_; ++gi) finalize_group(gi);
    if (progress_) {
      DiscQuantStep at_resume;
      at_resume.step = start_group_ * o_.steps + start_step_ - 1;
      at_resume.group = -1;  // marks the resume in the progress stream
      progress_(at_resume, o_.steps * groups_);
    }
  }

  // Trains group gi from `first_step`; false when stop_after ended the run (after a checkpoint).
  bool train_group(int gi, int first_step) {
    std::vector<std::string> names;
    std::vector<const RoundingGrid*> grids;
    std::vector<at::Tensor> xs;
    for (Layer& L : layers_) {
      if (!in_group(L, gi)) continue;
      names.push_back(L.lin->name());
      grids.push_back(&L.grid);
      xs.push_back(L.x);
    }
    DiscQuantObjective objective(m_, names, grids, res_.delta2);
    optim::AdamOptions ao;
    ao.lr = o_.lr;
    ao.weight_decay = o_.weight_decay;
    ao.decoupled = true;
    optim::Adam adam(xs, ao);
    std::int64_t trainable = 0;  // fixed per group: the denominator of the logged fractional share
    for (const RoundingGrid* g : grids) trainable += g->trainable.sum().item<std::int64_t>();
    if (first_step > 0) {
      if (saved_m_.size() != xs.size() || std::any_of(saved_m_.begin(), saved_m_.end(), [](const at::Tensor& t) { return !t.defined(); })) {
        throw FormatError(o_.checkpoint_file, "the checkpoint lacks the Adam moments of the group in training");
      }
      adam.restore(saved_m_, saved_v_, adam_steps_);
    }
    for (int t = first_step; t < o_.steps; ++t) {
      if (o_.stop_after > 0 && steps_run_ == o_.stop_after) {
        save(gi, t, &adam);
        return false;
      }
      ++steps_run_;
      const double loss = step(objective, adam, xs, grids, t);
      if (t % o_.log_every == 0 || t + 1 == o_.steps) log_step(gi, t, loss, xs, trainable);
      if ((t + 1) % o_.checkpoint_every == 0 && t + 1 < o_.steps) save(gi, t + 1, &adam);
    }
    return true;
  }

  // One optimizer step on the next windows; returns the step's loss (KL / delta^2).
  double step(DiscQuantObjective& objective, optim::Adam& adam, std::vector<at::Tensor>& xs,
              const std::vector<const RoundingGrid*>& grids, int t) {
    std::vector<std::vector<int>> batch;
    for (int k = 0; k < o_.windows_per_step; ++k) {
      batch.push_back(windows_[order_[next_window_]]);
      next_window_ = (next_window_ + 1) % order_.size();
    }
    adam.zero_grad();
    const double loss = objective.loss_and_grad(xs, batch);
    {
      at::NoGradGuard no_grad;
      for (std::size_t i = 0; i < xs.size(); ++i) {
        const RoundingGrid& g = *grids[i];
        // The linear rounding term's gradient joins after the rho-scaled, clamped KL gradient.
        at::Tensor kl_grad = xs[i].grad().defined() ? xs[i].grad() : at::zeros_like(xs[i]);
        at::Tensor grad = (1.0 - 2.0 * g.y) + at::clamp(o_.rho * kl_grad, -o_.clamp, o_.clamp);
        xs[i].mutable_grad() = grad * g.trainable;
      }
    }
    last_lr_ = discquant_lr(o_, t);
    adam.set_lr(last_lr_);
    adam.step();
    at::NoGradGuard no_grad;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      xs[i].clamp_(0.0, 1.0).mul_(grids[i]->trainable);  // projection onto the box; fixed cells stay 0
    }
    return loss;
  }

  void log_step(int gi, int t, double loss, const std::vector<at::Tensor>& xs, std::int64_t trainable) {
    std::int64_t inside = 0;
    for (const at::Tensor& x : xs) inside += ((x > 0.01) & (x < 0.99)).sum().item<std::int64_t>();
    DiscQuantStep s;
    s.step = gi * o_.steps + t;
    s.lr = last_lr_;
    s.kl = loss * res_.delta2;
    s.fractional = trainable ? static_cast<double>(inside) / static_cast<double>(trainable) : 0.0;
    s.group = gi;
    res_.log.push_back(s);
    if (progress_) progress_(s, o_.steps * groups_);
  }

  void layer_statistics(double seconds) {
    for (Layer& L : layers_) {
      L.lin->set_weight_override(at::Tensor());
      LayerQuantStats s = L.stats;  // name, shape
      const PackedCimWeights& p = *L.lin->packed();
      const std::vector<float> deq = p.dequantize();
      fill_storage_stats(s, p, layer_.offsets ? L.stats.ones_before_offsets : -1);  // with offsets: the RTN pass's first-pass ones
      fill_weight_error(s, L.lin->quantization_weight(),
                        at::from_blob(const_cast<float*>(deq.data()), L.grid.y.sizes(), at::TensorOptions().dtype(at::kFloat)));
      s.output_error = 0.0;
      s.gptq_loss = 0.0;
      s.seconds = seconds / static_cast<double>(layers_.size());
      res_.layers.push_back(std::move(s));
    }
  }

  model::Decoder& m_;
  const std::vector<std::vector<int>>& windows_;
  const LayerQuantOptions& layer_;
  const DiscQuantOptions& o_;
  const std::function<void(const DiscQuantStep&, int)>& progress_;
  Rng rng_;
  std::vector<Layer> layers_;
  std::vector<std::size_t> order_;
  std::size_t next_window_ = 0;
  int group_blocks_ = 1, groups_ = 1;
  int start_group_ = 0, start_step_ = 0;
  long adam_steps_ = 0;
  std::vector<at::Tensor> saved_m_, saved_v_;
  int steps_run_ = 0;
  double last_lr_ = 0.0;
  DiscQuantResult res_;
};

}  // namespace

DiscQuantResult discquant_model(model::Decoder& m, const std::vector<std::vector<int>>& windows,
                                const LayerQuantOptions& layer, const DiscQuantOptions& o,
                                const std::function<void(const DiscQuantStep&, int)>& progress) {
  o.validate();
  if (layer.method != Method::DiscQuant) throw InvalidArgument("method", "discquant_model needs --method discquant");
  if (windows.empty()) throw InvalidArgument("calib", "DiscQuant needs calibration windows");
  return DiscQuantTrainer(m, windows, layer, o, progress).run();
}

}  // namespace oacim::quant
