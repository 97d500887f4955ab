#pragma once
// Norm Tweaking (docs/algorithms.md C.1, C.2) on a quantized Decoder: block by block, the float block
// applied to the quantized model's input of that block is the target; only the block's norm
// parameters (Decoder::block_norm_params) are trained with the channel-wise distribution loss,
// Adam fresh per block at lr0 * (1 + scale * l / L), one step per calibration sample, `iters`
// passes. The next block's input is the quantized output recomputed after tweaking (default) or,
// with `faithful`, recorded before each sample's step (NT). The quantized backend runs in the
// loop: fakequant, or hw (bit-exact values, straight-through gradients).
#include <functional>
#include <vector>

#include "oacim/model/decoder.hpp"

namespace oacim::tweak {

struct NormTweakOptions {
  double lr = 1e-5;     // lr0
  double scale = 5.0;   // linear ramp over depth; 0 = the same lr for every block
  int iters = 1;
  bool faithful = false;
  model::Backend backend = model::Backend::FakeQuant;
  void validate() const;  // InvalidArgument naming the option
};

struct BlockTweakStats {
  int block = 0;
  double lr = 0.0;
  double loss_before = 0.0;  // mean distribution loss over the samples, quantized block before tweaking
  double loss_after = 0.0;   // the same after tweaking, on the same inputs
  double seconds = 0.0;
};

// `samples` are token sequences (each >= 2 tokens). Tweaks the norms of `model` in place; every
// other tensor and every Linear stays bit-identical. progress(stats, done, total) after each block.
std::vector<BlockTweakStats> tweak_norms(model::Decoder& model, const std::vector<std::vector<int>>& samples,
                                         const NormTweakOptions& options,
                                         const std::function<void(const BlockTweakStats&, int, int)>& progress = {});

// Mean next-token negative log-likelihood (nats per predicted token, all positions of every
// sample weighted equally) of `samples` under `backend`: how tweaks are compared on held-out text.
double mean_nll(const model::Decoder& model, const std::vector<std::vector<int>>& samples, model::Backend backend);

}  // namespace oacim::tweak
