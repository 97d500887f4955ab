// Building a FastDatapath: which path the config allows (exact in fp32, single pass or bit-planes,
// zeros folded), the weight panels the kernels read and the per-(block, row) views of scales,
// zeros and outliers, and the kernel and epilogue chosen for the life of the object.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "fast_kernels.hpp"
#include "oacim/core/quant_grid.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/fixed_width.hpp"

namespace oacim::hw {

using fast::kP;

FastDatapath::FastDatapath(LayerWeights weights, HwConfig cfg, FastKernel kernel)
    : w_(std::move(weights)), cfg_(std::move(cfg)), kernel_(resolve_kernel(kernel)) {
  const int n = w_.block_size;
  const std::int64_t qabs = std::max(std::abs(w_.code_min), std::abs(w_.code_max));
  single_pass_ = bit_serial_cannot_clip(FixedWidth{cfg_.tree_bits, cfg_.tree_overflow},
                                        FixedWidth{cfg_.acc_bits, cfg_.acc_overflow}, n, w_.code_min, w_.code_max,
                                        cfg_.bitplanes());
  int max_offset = 0;
  for (auto o : w_.offsets) max_offset = std::max(max_offset, std::abs(static_cast<int>(o)));
  exact_ = static_cast<std::int64_t>(n) * (qabs + max_offset) * (std::int64_t{1} << cfg_.mantissa_bits) <
           (std::int64_t{1} << 24);

  // With fp32 partial sums and integer zeros every step up to t = D - zero * S' is exact too, so
  // the zeros fold into the codes as well (q - o - z) and the kernel's sums are t itself.
  bool integer_zeros = true;
  float max_zero = 0.0f;
  for (float z : w_.zero_h) {
    integer_zeros = integer_zeros && std::nearbyint(z) == z;
    max_zero = std::max(max_zero, std::fabs(z));
  }
  fold_zero_ = single_pass_ && exact_ && integer_zeros && cfg_.psum_format == NumFormat::Fp32 &&
               static_cast<double>(n) * (static_cast<double>(qabs + max_offset) + max_zero) *
                       std::ldexp(1.0, cfg_.mantissa_bits) < 16777216.0;

  const int R = w_.rows;
  const int C = w_.cols;
  const int nb = w_.blocks;
  panels_ = (R + kP - 1) / kP;
  padded_rows_ = panels_ * kP;
  panel_offset_.resize(static_cast<std::size_t>(nb) * panels_);
  std::size_t total = 0;
  for (int b = 0; b < nb; ++b) {
    const int nbk = block_range(b, C, n).size();
    for (int p = 0; p < panels_; ++p) {
      panel_offset_[static_cast<std::size_t>(b) * panels_ + p] = total;
      total += static_cast<std::size_t>(nbk) * kP;
    }
  }
  // One copy of the codes, in the layout of the kernel that reads them. A folded zero outside
  // int16 (only a hand-made file has one) leaves the layer to the fp32 kernel.
  const double code_bound = static_cast<double>(qabs + max_offset) + (fold_zero_ ? max_zero : 0.0);
  if (integer_kernel() && code_bound > 32767.0) kernel_ = FastKernel::Avx512;
  const bool int16_pairs = integer_kernel() && exact_;
  if (int16_pairs) {
    panels_w16_.assign(total, 0);
  } else {
    panels_w_.assign(total, 0.0f);
  }
  for (int b = 0; b < nb; ++b) {
    const BlockRange br = block_range(b, C, n);
    for (int p = 0; p < panels_; ++p) {
      const std::size_t begin = panel_offset_[static_cast<std::size_t>(b) * panels_ + p];
      for (int k = 0; k < br.size(); ++k) {
        for (int j = 0; j < kP; ++j) {
          const int r = p * kP + j;
          if (r >= R) continue;
          const int c = br.begin + k;
          const int gq = w_.gated_quad(r, b);
          // Single pass: A - O' = sum (q - o) xt over the cells not gated, exact in fp32, so the
          // offsets fold into the panel; the bit-plane path needs A alone (its registers clip A).
          const bool gated = gq >= 0 && c / 4 == gq;
          const int q = w_.codes[static_cast<std::size_t>(r) * C + c];
          const int z = fold_zero_ ? static_cast<int>(w_.zero_h[w_.rb(r, b)]) : 0;
          const int code = gated ? 0 : (single_pass_ ? q - w_.offsets[c] - z : q);
          if (int16_pairs) {
            panels_w16_[begin + fast::pair_index(k, j, kP)] = static_cast<std::int16_t>(code);
          } else {
            panels_w_[begin + static_cast<std::size_t>(k) * kP + j] = static_cast<float>(code);
          }
        }
      }
    }
  }
  const std::size_t br_size = static_cast<std::size_t>(nb) * padded_rows_;
  scale_br_.assign(br_size, 0.0f);
  zero_br_.assign(br_size, 0.0f);
  ow_br_.assign(br_size, 0.0f);
  has_outlier_br_.assign(br_size, 0);
  outlier_slot_begin_.assign(static_cast<std::size_t>(nb) * panels_ + 1, 0);
  for (int b = 0; b < nb; ++b) {
    for (int p = 0; p < panels_; ++p) {
      outlier_slot_begin_[static_cast<std::size_t>(b) * panels_ + p] = outlier_slots_.size();
      for (int j = 0; j < kP && p * kP + j < R; ++j) {
        const int r = p * kP + j;
        const std::size_t i = static_cast<std::size_t>(b) * padded_rows_ + r;
        const std::size_t k = w_.rb(r, b);
        scale_br_[i] = w_.scale_h[k];
        zero_br_[i] = w_.zero_h[k];
        if (w_.outlier_col[k] >= 0) {
          ow_br_[i] = w_.outlier_w[k];
          has_outlier_br_[i] = -1;
          outlier_slots_.push_back({j, w_.outlier_col[k] / 4, w_.outlier_col[k]});
        }
      }
    }
  }
  outlier_slot_begin_.back() = outlier_slots_.size();
  panel_fn_ = select_panel_fn(kernel_, cfg_.psum_format, cfg_.outlier_format);
  // The exact path reads the codes from the panels alone: one copy of them, not two (a byte a weight).
  if (exact_) std::vector<std::int8_t>().swap(w_.codes);
}

}  // namespace oacim::hw
