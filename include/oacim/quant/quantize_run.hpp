#pragma once
// `oacim quantize` end to end behind a torch-free interface: load the model, draw calibration
// windows, run the layer-wise sequential driver (docs/algorithms.md 1.1) with the chosen quantizer,
// write the quantized model directory (quantized_model.hpp) and a JSON report of every layer.
// Each finished block is checkpointed atomically in DIR/partial/block-NNNN.safetensors; a rerun
// with the same model and options resumes after the last one (same bits as an unbroken run) and
// the checkpoints are removed once quantized.safetensors is written.
#include <cstdint>
#include <string>
#include <vector>

#include "oacim/core/progress.hpp"
#include "oacim/dist/communicator.hpp"
#include "oacim/quant/discquant_options.hpp"
#include "oacim/quant/layer_quant_options.hpp"
#include "oacim/quant/layer_quant_stats.hpp"

namespace oacim::quant {

struct QuantizeRunOptions {
  std::string model_path;
  std::string tokenizer_path;
  // A text file, a token sample file (`oacim calib`), a dataset name (wikitext2, ptb, ptb-new:
  // their evaluation splits, with a warning), or "self": generated now as `oacim calib` does.
  std::string calib = "self";
  std::string data_dir;  // empty: the bundled datasets (eval/dataset_files.hpp)
  int nsamples = 128;
  int seqlen = 0;               // 0 = the model's maximum
  std::uint64_t seed = 0;
  bool true_sequential = false;
  LayerQuantOptions layer;
  int max_offset = -1;          // largest |offset|; < 0: the default for the sign and outliers (resolve())
  std::string out_dir;
  ProgressFn progress;          // progress lines and warnings (core/progress.hpp); empty: silent
  int max_blocks = 0;           // quantize at most this many more blocks, checkpoint and stop (0 = all)
  DiscQuantOptions discquant;   // --method discquant
  // Random Hadamard incoherence (docs/algorithms.md D.4, core/incoherence.hpp): "none" | "hadamard".
  // Every block Linear is quantized (and stored) rotated; the transforms run around the macro.
  std::string incoherence = "none";
  // A quantized checkpoint (GGUF Q4_0/Q4_1/Q4_K, GPTQ): its Linears keep their own codes and only
  // the others (GGUF Q8_0/Q5/Q6, F16, ...) are quantized with `layer.method`. false: every Linear
  // is quantized from the checkpoint's values.
  bool keep_file_codes = false;
  std::uint64_t incoherence_seed = 0;
  // The ranks that share the work (sequential_quantizer.hpp); rank 0 draws the calibration windows
  // and alone writes checkpoints and the output. nullptr: this process alone.
  dist::Communicator* comm = nullptr;
};

struct QuantizeRunResult {
  bool reporting_rank = true;   // false on ranks other than 0 of a distributed run: they wrote nothing
  std::vector<LayerQuantStats> layers;
  int windows = 0;
  int resumed_blocks = 0;       // blocks loaded from DIR/partial/ checkpoints of a killed run
  bool complete = true;         // false: stopped by max_blocks; DIR/partial/ holds the blocks so far
  int blocks_done = 0, blocks = 0;
  int seqlen = 0;
  std::int64_t calib_tokens = 0;
  double seconds = 0.0;
  std::string out_file;
  // Model totals.
  std::int64_t ones = 0, ones_before_offsets = 0, stored_bits = 0, outliers = 0, weights = 0;
  double bits_per_weight = 0.0;
  // --method discquant: the logged steps, delta^2, and the KL of RTN and of the result.
  std::vector<DiscQuantStep> discquant_log;
  // --incoherence hadamard: Linears rotated on both sides, and the sides left unrotated (no
  // Hadamard matrix of that order), e.g. "layers.0.feed_forward.w2 input (172)".
  int rotated_both = 0;
  std::vector<std::string> unrotated_sides;
  double discquant_delta2 = 0.0, discquant_kl_rtn = 0.0, discquant_kl_final = 0.0;
};

QuantizeRunResult run_quantize(const QuantizeRunOptions& options);

// Options as JSON (kept in the quantized model's metadata and in reports).
std::string options_json(const QuantizeRunOptions& options);

}  // namespace oacim::quant
