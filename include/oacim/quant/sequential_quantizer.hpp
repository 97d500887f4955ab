#pragma once
// The layer-wise sequential driver (algorithms.md 1.1): the calibration windows enter block 0;
// for each block, its Linears (or, true-sequentially, each group of them) see the inputs the
// partly quantized block produces, accumulate Hessians through input observers, and are
// quantized; the fully quantized block's outputs feed the next block. Only one block's
// activations are held (nsamples x seqlen x dim, twice). RTN needs no activations.
#include <functional>
#include <string>
#include <vector>

#include "oacim/model/decoder.hpp"
#include "oacim/quant/layer_quant_options.hpp"
#include "oacim/quant/layer_quant_stats.hpp"

namespace oacim::quant {

struct SequentialOptions {
  LayerQuantOptions layer;
  bool true_sequential = false;
};

// Called after each Linear: its statistics, the block index, and Linears done / total.
using LayerProgress = std::function<void(const LayerQuantStats&, int block, int done, int total)>;

// Quantizes every block Linear of `model` in place (set_packed); the classifier stays fp32.
std::vector<LayerQuantStats> quantize_model(model::Decoder& model, const std::vector<std::vector<int>>& windows,
                                            const SequentialOptions& options, const LayerProgress& progress = {});

}  // namespace oacim::quant
