#pragma once
// Adam as torch.optim.Adam computes it (bias-corrected moments; eps added to the corrected
// sqrt(v)), with optional weight decay: L2 added to the gradient (Adam) or decoupled (AdamW,
// p *= 1 - lr * wd first). Updates the given tensors in place, outside autograd. Shared by norm
// tweaking and DiscQuant. Written here because the torch C++ optimizer headers cost more to
// compile than the few lines they save.
#include <vector>

#include <ATen/core/Tensor.h>

namespace oacim::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = false;  // true: AdamW
};

class Adam {
 public:
  // `params` must require grad; they are updated in place.
  Adam(std::vector<at::Tensor> params, AdamOptions options);
  void zero_grad();
  void step();  // parameters without a gradient are skipped, as torch does
  void set_lr(double lr) { options_.lr = lr; }
  long steps() const { return t_; }
  // The moments, for checkpoints: a restored optimizer continues exactly where it stopped.
  const std::vector<at::Tensor>& first_moments() const { return m_; }
  const std::vector<at::Tensor>& second_moments() const { return v_; }
  // InvalidArgument when the shapes differ from the parameters'.
  void restore(const std::vector<at::Tensor>& m, const std::vector<at::Tensor>& v, long steps);

 private:
  std::vector<at::Tensor> params_, m_, v_;
  AdamOptions options_;
  long t_ = 0;
};

}  // namespace oacim::optim
