#include "oacim/tweak/norm_tweaker.hpp"

#include <chrono>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/optim/adam.hpp"
#include "oacim/tweak/distribution_loss.hpp"

namespace oacim::tweak {

void NormTweakOptions::validate() const {
  if (!(lr >= 0.0) || !std::isfinite(lr)) throw InvalidArgument("lr", fmt::format("{} must be a finite value >= 0", lr));
  if (!(scale >= 0.0) || !std::isfinite(scale)) throw InvalidArgument("scale", fmt::format("{} must be a finite value >= 0", scale));
  if (iters < 1) throw InvalidArgument("iters", fmt::format("{} is not a positive count", iters));
  if (backend == model::Backend::Float) throw InvalidArgument("backend", "tweaking needs a quantized backend (fakequant or hw)");
}

std::vector<BlockTweakStats> tweak_norms(model::Decoder& m, const std::vector<std::vector<int>>& samples,
                                         const NormTweakOptions& o,
                                         const std::function<void(const BlockTweakStats&, int, int)>& progress) {
  o.validate();
  if (samples.empty()) throw InvalidArgument("calib", "norm tweaking needs calibration samples");
  for (const auto& s : samples) {
    if (s.size() < 2) throw InvalidArgument("calib", "every calibration sample needs at least 2 tokens");
  }
  const int L = m.num_blocks();
  std::vector<at::Tensor> x;
  {
    at::NoGradGuard no_grad;
    for (const auto& s : samples) x.push_back(m.embed(s));
  }
  std::vector<BlockTweakStats> out;
  for (int l = 0; l < L; ++l) {
    const auto t0 = std::chrono::steady_clock::now();
    BlockTweakStats st;
    st.block = l;
    st.lr = o.lr * (1.0 + o.scale * l / L);
    std::vector<at::Tensor> target;
    {
      at::NoGradGuard no_grad;
      for (const at::Tensor& xi : x) {
        target.push_back(m.block_forward(l, xi, model::Backend::Float));
        st.loss_before += channel_distribution_loss(target.back(), m.block_forward(l, xi, o.backend)).item<double>();
      }
    }
    st.loss_before /= static_cast<double>(x.size());
    std::vector<at::Tensor> params;
    for (auto& [name, t] : m.block_norm_params(l)) {
      t->requires_grad_(true);
      params.push_back(*t);
    }
    std::vector<at::Tensor> next(x.size());
    {
      optim::Adam adam(params, optim::AdamOptions{st.lr});
      for (int it = 0; it < o.iters; ++it) {
        for (std::size_t s = 0; s < x.size(); ++s) {
          adam.zero_grad();
          const at::Tensor q = m.block_forward(l, x[s], o.backend);
          if (o.faithful) next[s] = q.detach();  // NT: recorded before this sample's step (last pass wins)
          channel_distribution_loss(target[s], q).backward();
          adam.step();
        }
      }
      adam.zero_grad();
    }
    for (auto& [name, t] : m.block_norm_params(l)) t->requires_grad_(false);
    {
      at::NoGradGuard no_grad;
      for (std::size_t s = 0; s < x.size(); ++s) {
        const at::Tensor q = m.block_forward(l, x[s], o.backend);
        st.loss_after += channel_distribution_loss(target[s], q).item<double>();
        if (!o.faithful) next[s] = q;
      }
    }
    st.loss_after /= static_cast<double>(x.size());
    x = std::move(next);
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.push_back(st);
    if (progress) progress(st, l + 1, L);
  }
  return out;
}

double mean_nll(const model::Decoder& m, const std::vector<std::vector<int>>& samples, model::Backend backend) {
  at::NoGradGuard no_grad;
  double sum = 0.0;
  std::int64_t count = 0;
  for (const auto& s : samples) {
    if (s.size() < 2) continue;
    const at::Tensor logits = m.forward(s, backend);
    const std::vector<std::int64_t> next(s.begin() + 1, s.end());
    const at::Tensor lp = at::log_softmax(logits.narrow(0, 0, logits.size(0) - 1).to(at::kDouble), -1);
    sum -= lp.gather(1, at::tensor(next, at::kLong).unsqueeze(1)).sum().item<double>();
    count += static_cast<std::int64_t>(next.size());
  }
  if (count == 0) throw InvalidArgument("samples", "no sample has a next token to predict");
  return sum / static_cast<double>(count);
}

}  // namespace oacim::tweak
