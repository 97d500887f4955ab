#include "oacim/quant/discquant.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <map>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/model/decoder.hpp"
#include "oacim/model/quant_linear.hpp"
#include "oacim/quant/layer_quantizer.hpp"
#include "oacim/optim/adam.hpp"

namespace oacim::quant {

namespace {
constexpr const char* kCheckpointFormat = "oacim-discquant-checkpoint/1";
}  // namespace

void DiscQuantOptions::validate() const {
  if (steps < 1) throw InvalidArgument("--dq-steps", fmt::format("{} must be >= 1", steps));
  if (warmup < 0 || warmup >= steps) throw InvalidArgument("--dq-warmup", fmt::format("{} must be in [0, steps)", warmup));
  if (!(lr > 0)) throw InvalidArgument("--dq-lr", "must be positive");
  if (!(clamp > 0)) throw InvalidArgument("--dq-clamp", "must be positive");
  if (!(rho > 0)) throw InvalidArgument("--dq-rho", "must be positive");
  if (!(weight_decay >= 0)) throw InvalidArgument("--dq-weight-decay", "must not be negative");
  if (windows_per_step < 1) throw InvalidArgument("--dq-windows-per-step", "must be >= 1");
  if (init != "rand" && init != "orig") throw InvalidArgument("--dq-init", fmt::format("'{}' is not rand or orig", init));
  if (blocks_at_once < 0) throw InvalidArgument("--dq-blocks-at-once", "must not be negative");
  if (log_every < 1) throw InvalidArgument("--dq-log-every", "must be >= 1");
  if (checkpoint_every < 1) throw InvalidArgument("--dq-checkpoint-every", "must be >= 1");
  if (stop_after < 0) throw InvalidArgument("--dq-stop-after", "must not be negative");
}

double discquant_lr(const DiscQuantOptions& o, int step) {
  if (step < o.warmup) return o.lr * static_cast<double>(step) / std::max(1, o.warmup);
  const double progress = static_cast<double>(step - o.warmup) / std::max(1, o.steps - o.warmup);
  return o.lr * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
}

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

DiscQuantResult discquant_model(model::Decoder& m, const std::vector<std::vector<int>>& windows,
                                const LayerQuantOptions& layer, const DiscQuantOptions& o,
                                const std::function<void(const DiscQuantStep&, int)>& progress) {
  o.validate();
  if (layer.method != Method::DiscQuant) throw InvalidArgument("--method", "discquant_model needs --method discquant");
  if (windows.empty()) throw InvalidArgument("--calib", "DiscQuant needs calibration windows");
  const auto t0 = std::chrono::steady_clock::now();
  LayerQuantOptions rtn = layer;
  rtn.method = Method::Rtn;

  // The grid of every block Linear from the RTN pass of the same options.
  struct Layer {
    model::QuantLinear* lin = nullptr;
    int block = 0;
    RoundingGrid grid;
    at::Tensor x;
    LayerQuantStats stats;
  };
  std::vector<Layer> layers;
  double delta2 = 0.0;
  for (int l = 0; l < m.num_blocks(); ++l) {
    for (model::QuantLinear* lin : m.block_linears(l)) {
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
      layers.push_back(std::move(L));
    }
  }
  delta2 /= static_cast<double>(layers.size());
  if (!(delta2 > 0)) throw InvalidArgument("--method", "RTN reproduces every weight exactly: nothing to learn");
  DiscQuantResult res;
  res.delta2 = delta2;

  // Initial x, seeded and independent of libtorch's generator.
  Rng rng(o.seed);
  for (Layer& L : layers) {
    if (o.init == "orig") {
      L.x = L.grid.y.clone();
    } else {
      std::vector<float> v(static_cast<std::size_t>(L.grid.y.numel()));
      for (float& f : v) f = static_cast<float>(rng.uniform());
      L.x = at::from_blob(v.data(), L.grid.y.sizes(), at::TensorOptions().dtype(at::kFloat)).clone();
    }
    L.x = (L.x * L.grid.trainable).set_requires_grad(true);
  }
  // KL of the RTN model (x = round(y)) and later of the result, on the first windows.
  const std::size_t n_eval = std::min<std::size_t>(windows.size(), 4);
  const std::vector<std::vector<int>> eval_windows(windows.begin(), windows.begin() + static_cast<std::ptrdiff_t>(n_eval));
  auto model_kl = [&](const std::function<at::Tensor(const Layer&)>& x_of) {
    std::vector<std::string> names;
    std::vector<const RoundingGrid*> grids;
    std::vector<at::Tensor> xs;
    for (const Layer& L : layers) {
      names.push_back(L.lin->name());
      grids.push_back(&L.grid);
      xs.push_back(x_of(L));
    }
    return DiscQuantObjective(m, names, grids, 1.0).loss(xs, eval_windows);
  };
  res.kl_rtn = model_kl([](const Layer& L) { return at::round(L.grid.y); });

  // Blocks train in groups (all at once by default); trained groups hold their rounded weights.
  const int group_blocks = o.blocks_at_once > 0 ? o.blocks_at_once : m.num_blocks();
  const int groups = (m.num_blocks() + group_blocks - 1) / group_blocks;
  const int total_steps = o.steps * groups;
  // Windows in a seeded order, cycled.
  std::vector<std::size_t> order(windows.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[static_cast<std::size_t>(rng.uniform() * static_cast<double>(i))]);
  std::size_t next_window = 0;

  // The group's result is final: later groups train on top of its rounded weights.
  const auto finalize_group = [&](int gi) {
    for (Layer& L : layers) {
      if (L.block / group_blocks != gi) continue;
      auto packed = round_to_grid(L.grid, L.x);
      L.lin->set_packed(packed, nullptr);
      const std::vector<float> deq = packed->dequantize();
      L.lin->set_weight_override(
          at::from_blob(const_cast<float*>(deq.data()), L.grid.y.sizes(), at::TensorOptions().dtype(at::kFloat)).clone());
    }
  };
  // Checkpoints: every x, the current group's Adam moments, where the run stands, the log.
  const auto tensor_of = [](const at::Tensor& t) {
    const at::Tensor c = t.detach().to(at::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  const auto save_checkpoint = [&](int gi, int next_step, const optim::Adam* adam) {
    if (o.checkpoint_file.empty()) return;
    SafetensorsWriter w;
    std::size_t k = 0;
    for (const Layer& L : layers) {
      const std::vector<std::int64_t> shape(L.grid.y.sizes().begin(), L.grid.y.sizes().end());
      w.add("x." + L.lin->name(), DType::F32, shape, tensor_of(L.x));
      if (adam && L.block / group_blocks == gi) {
        w.add("m." + L.lin->name(), DType::F32, shape, tensor_of(adam->first_moments()[k]));
        w.add("v." + L.lin->name(), DType::F32, shape, tensor_of(adam->second_moments()[k]));
        ++k;
      }
    }
    nlohmann::json log = nlohmann::json::array();
    for (const DiscQuantStep& st : res.log) log.push_back({st.step, st.lr, st.kl, st.fractional, st.group});
    w.set_metadata("oacim.format", kCheckpointFormat);
    w.set_metadata("oacim.key", o.checkpoint_key);
    w.set_metadata("oacim.group", std::to_string(gi));
    w.set_metadata("oacim.step", std::to_string(next_step));
    w.set_metadata("oacim.window", std::to_string(next_window));
    w.set_metadata("oacim.adam_steps", std::to_string(adam ? adam->steps() : 0));
    w.set_metadata("oacim.log", log.dump());
    const std::filesystem::path parent = std::filesystem::path(o.checkpoint_file).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    w.write(o.checkpoint_file);
  };
  int start_group = 0, start_step = 0;
  long adam_steps = 0;
  std::vector<at::Tensor> saved_m, saved_v;
  if (!o.checkpoint_file.empty() && std::filesystem::exists(o.checkpoint_file)) {
    const SafetensorsFile f = SafetensorsFile::open(o.checkpoint_file);
    if (!f.metadata().count("oacim.format") || f.metadata_value("oacim.format") != kCheckpointFormat ||
        f.metadata_value("oacim.key") != o.checkpoint_key) {
      throw FormatError(f.path(), "a DiscQuant checkpoint of another model or other options; remove it or use another --out");
    }
    try {
      start_group = std::stoi(f.metadata_value("oacim.group"));
      start_step = std::stoi(f.metadata_value("oacim.step"));
      next_window = std::stoull(f.metadata_value("oacim.window"));
      adam_steps = std::stol(f.metadata_value("oacim.adam_steps"));
      for (const auto& e : nlohmann::json::parse(f.metadata_value("oacim.log"))) {
        DiscQuantStep st;
        st.step = e.at(0);
        st.lr = e.at(1);
        st.kl = e.at(2);
        st.fractional = e.at(3);
        st.group = e.at(4);
        res.log.push_back(st);
      }
    } catch (const std::exception& e) {
      throw FormatError(f.path(), std::string("unreadable checkpoint state: ") + e.what());
    }
    if (start_group < 0 || start_group > groups || start_step < 0 || start_step > o.steps || next_window >= order.size()) {
      throw FormatError(f.path(), "checkpoint position outside this run");
    }
    at::NoGradGuard no_grad;
    for (Layer& L : layers) {
      const std::vector<std::int64_t> shape(L.grid.y.sizes().begin(), L.grid.y.sizes().end());
      auto load = [&](const std::string& name) {
        std::vector<float> v = f.read<float>(name, DType::F32, shape);
        return at::from_blob(v.data(), L.grid.y.sizes(), at::TensorOptions().dtype(at::kFloat)).clone();
      };
      L.x.copy_(load("x." + L.lin->name()));
      if (start_step > 0 && L.block / group_blocks == start_group) {
        saved_m.push_back(load("m." + L.lin->name()));
        saved_v.push_back(load("v." + L.lin->name()));
      }
    }
    for (int gi = 0; gi < start_group; ++gi) finalize_group(gi);
    if (progress) {
      DiscQuantStep at_resume;
      at_resume.step = start_group * o.steps + start_step - 1;
      at_resume.group = -1;  // marks the resume in the progress stream
      progress(at_resume, total_steps);
    }
  }
  int steps_run = 0;
  for (int gi = start_group; gi < groups; ++gi) {
    std::vector<Layer*> group;
    std::vector<std::string> names;
    std::vector<const RoundingGrid*> grids;
    std::vector<at::Tensor> xs;
    for (Layer& L : layers) {
      if (L.block / group_blocks != gi) continue;
      group.push_back(&L);
      names.push_back(L.lin->name());
      grids.push_back(&L.grid);
      xs.push_back(L.x);
    }
    DiscQuantObjective objective(m, names, grids, delta2);
    optim::AdamOptions ao;
    ao.lr = o.lr;
    ao.weight_decay = o.weight_decay;
    ao.decoupled = true;
    optim::Adam adam(xs, ao);
    std::int64_t trainable = 0;  // fixed per group: the denominator of the logged fractional share
    for (const RoundingGrid* g : grids) trainable += g->trainable.sum().item<std::int64_t>();
    const int first_step = gi == start_group ? start_step : 0;
    if (first_step > 0) adam.restore(saved_m, saved_v, adam_steps);
    for (int t = first_step; t < o.steps; ++t) {
      if (o.stop_after > 0 && steps_run == o.stop_after) {
        save_checkpoint(gi, t, &adam);
        for (Layer& L : layers) L.lin->set_weight_override(at::Tensor());
        res.complete = false;
        return res;
      }
      ++steps_run;
      std::vector<std::vector<int>> batch;
      for (int k = 0; k < o.windows_per_step; ++k) {
        batch.push_back(windows[order[next_window]]);
        next_window = (next_window + 1) % order.size();
      }
      adam.zero_grad();
      const double loss = objective.loss_and_grad(xs, batch);
      {
        at::NoGradGuard no_grad;
        for (std::size_t i = 0; i < xs.size(); ++i) {
          const RoundingGrid& g = *grids[i];
          // The linear rounding term's gradient joins after the rho-scaled, clamped KL gradient.
          at::Tensor kl_grad = xs[i].grad().defined() ? xs[i].grad() : at::zeros_like(xs[i]);
          at::Tensor grad = (1.0 - 2.0 * g.y) + at::clamp(o.rho * kl_grad, -o.clamp, o.clamp);
          xs[i].mutable_grad() = grad * g.trainable;
        }
      }
      const double lr = discquant_lr(o, t);
      adam.set_lr(lr);
      adam.step();
      {
        at::NoGradGuard no_grad;
        for (std::size_t i = 0; i < xs.size(); ++i) {
          xs[i].clamp_(0.0, 1.0).mul_(grids[i]->trainable);  // projection onto the box; fixed cells stay 0
        }
      }
      if (t % o.log_every == 0 || t + 1 == o.steps) {
        std::int64_t inside = 0;
        for (const at::Tensor& x : xs) inside += ((x > 0.01) & (x < 0.99)).sum().item<std::int64_t>();
        DiscQuantStep s;
        s.step = gi * o.steps + t;
        s.lr = lr;
        s.kl = loss * delta2;
        s.fractional = trainable ? static_cast<double>(inside) / static_cast<double>(trainable) : 0.0;
        s.group = gi;
        res.log.push_back(s);
        if (progress) progress(s, total_steps);
      }
      if ((t + 1) % o.checkpoint_every == 0 && t + 1 < o.steps) save_checkpoint(gi, t + 1, &adam);
    }
    finalize_group(gi);
    save_checkpoint(gi + 1, 0, nullptr);
  }
  res.kl_final = model_kl([](const Layer& L) { return at::round(L.x.detach()); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (Layer& L : layers) {
    L.lin->set_weight_override(at::Tensor());
    LayerQuantStats s = L.stats;  // name, shape
    const PackedCimWeights& p = *L.lin->packed();
    const std::vector<float> deq = p.dequantize();
    fill_storage_stats(s, p, layer.offsets ? L.stats.ones_before_offsets : -1);  // with offsets: the RTN pass's first-pass ones
    fill_weight_error(s, L.lin->quantization_weight(),
                      at::from_blob(const_cast<float*>(deq.data()), L.grid.y.sizes(), at::TensorOptions().dtype(at::kFloat)));
    s.output_error = 0.0;
    s.gptq_loss = 0.0;
    s.seconds = seconds / static_cast<double>(layers.size());
    res.layers.push_back(std::move(s));
  }
  return res;
}

}  // namespace oacim::quant
