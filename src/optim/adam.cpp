#include "oacim/optim/adam.hpp"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "oacim/core/error.hpp"

namespace oacim::optim {

Adam::Adam(std::vector<at::Tensor> params, AdamOptions options) : params_(std::move(params)), options_(options) {
  if (!(options_.lr >= 0.0) || !(options_.eps > 0.0) || !(options_.beta1 >= 0.0 && options_.beta1 < 1.0) ||
      !(options_.beta2 >= 0.0 && options_.beta2 < 1.0) || !(options_.weight_decay >= 0.0)) {
    throw InvalidArgument("adam", "needs lr >= 0, eps > 0, betas in [0, 1) and weight decay >= 0");
  }
  for (const at::Tensor& p : params_) {
    if (!p.requires_grad()) throw InvalidArgument("adam", "every parameter must require grad");
    m_.push_back(at::zeros_like(p).detach());
    v_.push_back(at::zeros_like(p).detach());
  }
}

void Adam::restore(const std::vector<at::Tensor>& m, const std::vector<at::Tensor>& v, long steps) {
  if (m.size() != params_.size() || v.size() != params_.size() || steps < 0) {
    throw InvalidArgument("adam", "the restored state does not match the parameters");
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!m[i].sizes().equals(params_[i].sizes()) || !v[i].sizes().equals(params_[i].sizes())) {
      throw InvalidArgument("adam", "a restored moment has another shape than its parameter");
    }
    m_[i].copy_(m[i]);
    v_[i].copy_(v[i]);
  }
  t_ = steps;
}

void Adam::zero_grad() {
  for (at::Tensor& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

void Adam::step() {
  at::NoGradGuard no_grad;
  ++t_;
  const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(options_.beta2, static_cast<double>(t_));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (options_.weight_decay != 0.0) {
      if (options_.decoupled) {
        p.mul_(1.0 - options_.lr * options_.weight_decay);
      } else {
        g = g.add(p, options_.weight_decay);
      }
    }
    m_[i].mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    v_[i].mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    const at::Tensor denom = (v_[i].sqrt() / std::sqrt(bc2)).add_(options_.eps);
    p.addcdiv_(m_[i], denom, -options_.lr / bc1);
  }
}

}  // namespace oacim::optim
