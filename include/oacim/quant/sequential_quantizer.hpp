#pragma once
// The layer-wise sequential driver (docs/algorithms.md 1.1): the calibration windows enter block 0;
// for each block, its Linears (or, true-sequentially, each group of them) see the inputs the
// partly quantized block produces, accumulate Hessians through input observers, and are
// quantized; the fully quantized block's outputs feed the next block. Only one block's
// activations are held (nsamples x seqlen x dim, twice; divided by the ranks when distributed).
// RTN needs no activations. On one process, Linears handed the very same input tensor (LLaMA's
// q, k, v and gate, up; OPT's and GPT-2's q, k, v) share one Hessian accumulator: the same sums,
// made once. A finished block's fp32 copies are released (QuantLinear::
// release_float_copies), so with weights made on demand from a mapped checkpoint only the block
// being quantized is held in fp32.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "oacim/dist/communicator.hpp"
#include "oacim/model/decoder.hpp"
#include "oacim/quant/layer_quant_options.hpp"
#include "oacim/quant/layer_quant_stats.hpp"

namespace oacim::quant {

struct SequentialOptions {
  LayerQuantOptions layer;
  bool true_sequential = false;
  // Blocks 0..resume_blocks-1 already hold packed weights (a resumed run): they are not
  // quantized again, only run forward to produce the next block's inputs.
  int resume_blocks = 0;
  // Called for each resumed block before it runs forward, to give its Linears their packed
  // weights (from a checkpoint), so a resumed run too holds one block at a time; empty: they
  // already hold them.
  std::function<void(int block)> load_resumed_block;
  // Stop after quantizing this many more blocks (0 = all): a long run split into slices.
  int max_new_blocks = 0;
  // Called after block `l` is fully quantized, with that block's statistics (checkpointing).
  std::function<void(int block, const std::vector<LayerQuantStats>& block_stats)> on_block_done;
  // Drop each block's packed weights once on_block_done has stored them (a checkpoint on disk):
  // the Linears of finished blocks are left without packed weights, and the run holds one block's
  // weights at a time. Otherwise every Linear keeps its packed weights (in place).
  bool release_finished_blocks = false;
  // The ranks that share the work (docs/scaleout.md): window w runs on rank w % ranks; each Linear
  // of a block is quantized by one rank (its index in the block modulo ranks), which receives the
  // inputs of every window in window order, so its Hessian has the bits of one process; every rank
  // then receives the packed weights. nullptr: this process alone.
  dist::Communicator* comm = nullptr;
  // Linears (by name) that keep a checkpoint's own codes (GGUF Q4, GPTQ) instead of being
  // quantized: they get these packed weights and input order, statistics from them, no Hessian.
  struct KeptLinear {
    std::shared_ptr<const PackedCimWeights> packed;
    std::vector<std::int32_t> input_order;
  };
  std::map<std::string, KeptLinear> kept;
};

// Called after each Linear (on rank 0 when distributed): its statistics, the block index, and
// Linears done / total.
using LayerProgress = std::function<void(const LayerQuantStats&, int block, int done, int total)>;

// Quantizes every block Linear of `model` in place (set_packed); the classifier stays fp32.
// Returns the statistics of the Linears quantized by this call (resumed blocks excluded).
std::vector<LayerQuantStats> quantize_model(model::Decoder& model, const std::vector<std::vector<int>>& windows,
                                            const SequentialOptions& options, const LayerProgress& progress = {});

}  // namespace oacim::quant
