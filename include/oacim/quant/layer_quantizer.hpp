#pragma once
// Quantizes one Linear weight W [R, C] (fp32) with RTN, GPTQ or the OA-CIM outlier-aware GPTQ
// (algorithms.md sections A, B) into PackedCimWeights (design.md section 2), with the per-layer
// statistics a report needs. RTN is the OA procedure with H = I: no error feedback, the same
// grid, outlier choice and offsets.
#include <cstdint>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/quant/layer_quant_options.hpp"

namespace oacim::quant {

struct LayerQuantStats {
  std::string layer;
  int rows = 0;
  int cols = 0;
  double weight_mse = 0.0;       // mean (W - Q)^2
  double weight_rel_error = 0.0; // ||W - Q||_F / ||W||_F
  double output_error = 0.0;     // tr(D H D^T) / tr(W H W^T), D = W - Q, H undamped (0 without H)
  double gptq_loss = 0.0;        // sum of squared scaled errors (w - q)^2 / U_jj^2
  std::int64_t outliers = 0;
  double outlier_share = 0.0;    // outliers / (rows * blocks)
  std::int64_t ones_before_offsets = 0;  // 1 bits of the stored words of the first (offset-free) pass
  std::int64_t ones = 0;                 // 1 bits of the stored words
  std::int64_t stored_bits = 0;          // bits of the stored words (4 per weight)
  double bits_per_weight = 0.0;          // including scales, zeros, second level, offsets, outlier index
  std::int64_t dead_columns = 0;
  double seconds = 0.0;
};

struct LayerQuantResult {
  std::shared_ptr<const PackedCimWeights> packed;  // null only for unpackable GPTQ options
  at::Tensor dequantized;                          // [R, C] fp32, equal to packed->dequantize()
  LayerQuantStats stats;
};

// `h` [C, C] is the accumulated Hessian (unused by RTN; may be undefined then). Throws
// InvalidArgument for bad options or shapes. With pack = false, GPTQ may use act-order with
// dynamic groups (fake quantization only).
LayerQuantResult quantize_layer(const std::string& name, const at::Tensor& w, const at::Tensor& h,
                                const LayerQuantOptions& options, bool pack = true);

}  // namespace oacim::quant
