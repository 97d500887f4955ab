// Quantize one Linear with outlier-aware GPTQ (OA-CIM) from calibration inputs, and compare its
// output error with RTN's. Links oacim::frontend (libtorch).
#include <cstdio>

#include <ATen/ATen.h>

#include "oacim/frontend.hpp"

int main() {
  at::manual_seed(0);
  const int rows = 256, cols = 256;
  const at::Tensor x = at::randn({1024, cols}) * (at::rand({cols}) * 4.0 + 0.1);  // uneven input channels
  oacim::quant::HessianAccumulator hessian(cols);
  hessian.add_batch(x);
  const at::Tensor w = at::randn({rows, cols}) * 0.02;

  double error[2];
  for (int i = 0; i < 2; ++i) {
    oacim::quant::LayerQuantOptions o;
    o.method = i == 0 ? oacim::quant::Method::Rtn : oacim::quant::Method::Oa;
    o.outliers = true;
    const auto r = oacim::quant::quantize_layer("example", w, hessian.matrix(), o);
    // The layer's output error on the calibration inputs, ||(W - Q) X^T||^2 / ||W X^T||^2.
    error[i] = at::matmul(w - r.dequantized, x.t()).pow(2).sum().item<double>() / at::matmul(w, x.t()).pow(2).sum().item<double>();
    std::printf("%-3s output error %.5f, weight error %.4f, %lld outliers\n", i == 0 ? "rtn" : "oa", error[i],
                r.stats.weight_rel_error, static_cast<long long>(r.stats.outliers));
  }
  return error[1] < error[0] ? 0 : 1;  // the Hessian-aware method must win on its own objective
}
