#pragma once
// Quantizes one Linear weight W [R, C] (fp32) with RTN, GPTQ or the OA-CIM outlier-aware GPTQ
// (docs/algorithms.md sections A, B) into PackedCimWeights (docs/design.md §2), with the per-layer
// statistics a report needs. RTN is the OA procedure with H = I: no error feedback, the same
// grid, outlier choice and offsets.
#include <cstdint>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/quant/layer_quant_options.hpp"
#include "oacim/quant/layer_quant_stats.hpp"

namespace oacim::quant {

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

// The storage side of `s` from a packed layer: ones (and ones before offsets; -1: the same),
// stored bits, outliers, bits per weight.
void fill_storage_stats(LayerQuantStats& s, const PackedCimWeights& packed, std::int64_t ones_before_offsets);
// weight_mse and weight_rel_error of `dequantized` against the float weight `w` [R, C].
void fill_weight_error(LayerQuantStats& s, const at::Tensor& w, const at::Tensor& dequantized);

}  // namespace oacim::quant
