#pragma once
// One perplexity evaluation, end to end, behind a torch-free interface (the CLI and the sweep
// runner include this, not libtorch): load a llama2.c checkpoint and its tokenizer, quantize every
// Linear for the quantized backends, build the dataset text, run the protocol of perplexity.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include "oacim/core/progress.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/dist/communicator.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/sim/layer_sampler.hpp"
#include "oacim/hw/hw_counters.hpp"
#include "oacim/eval/task_scores.hpp"
#include "oacim/eval/token_comparison.hpp"

namespace oacim::eval {

struct EvalOptions {
  std::string model_path;       // llama2.c .bin, a Hugging Face directory, or an `oacim quantize` output
  std::string tokenizer_path;   // "" = tokenizer.bin or tok<vocab>.bin beside the model
  std::string dataset;          // wikitext2 | ptb | ptb-new | a text file
  std::string task_file;        // instead of a dataset: a zero-shot task file (data/task_file.hpp)
  std::string data_dir;  // empty: the bundled datasets (eval/dataset_files.hpp)
  int seqlen = 0;               // 0 = the model's maximum
  int max_windows = 0;          // 0 = all
  // float | fakequant | hw | systemc | auto: fakequant for a quantized directory (its stored
  // weights), float for a float model (resolve_backend()).
  std::string backend = "auto";
  // systemc: the Linears whose first `systemc_tokens` input rows are co-simulated and checked
  // against hw (empty = every block Linear of block 0).
  std::vector<std::string> systemc_layers;
  int systemc_tokens = 8;
  std::string hw_file;          // where `hw` was read from ("" = the built-in defaults); the caller loads it
  hw::HwConfig hw = hw::default_hw_config();
  RtnPackOptions quant;         // RTN for the quantized backends when the model is not a quantized directory
  // A quantized checkpoint's Linears that no 4-bit cell holds (LoadedModel::unfit_linears):
  // "none" refuses a quantized backend, "rtn" requantizes them with `quant`.
  std::string requantize = "none";
  ProgressFn progress;          // progress lines and warnings (core/progress.hpp); empty: silent
  // Where the float model's distributions on the evaluated windows are cached
  // (eval/float_reference.hpp): "" = no comparison with the float model. A missing or damaged
  // entry is computed (loading the float source model beside a quantized one) and written.
  std::string float_reference_dir;
  int float_reference_full_mib = 256;  // the full distribution while it fits, else the top-k
  std::string token_nll_file;  // the caller writes EvalResult::token_nll there ("" = not at all)
  // > 0: perplexity windows evaluated block by block (eval/streamed_logits.hpp), holding one
  // block's weights in the form the backend reads and at most this many MiB of hidden states;
  // the same bits as window by window (0), which holds the whole model.
  int stream_blocks_mib = 0;
  // "" = none. Else the file (per rank: FILE.rank<r>of<n>) each finished window's loss, token
  // statistics and chip counters are appended to; a run finding it resumes after its last whole
  // window and ends with the bits of an unbroken run (eval/eval_checkpoint.hpp).
  std::string checkpoint_file;
  // The ranks that share the windows (docs/scaleout.md): each evaluates a contiguous share, rank 0
  // sums every window's loss in window order and alone returns the whole result, bit for bit that
  // of one process. nullptr: this process alone.
  dist::Communicator* comm = nullptr;
};

struct EvalResult {
  bool reporting_rank = true;       // false on ranks other than 0 of a distributed run: their share only
  double perplexity = 0.0;
  double mean_nll = 0.0;
  int seqlen = 0;
  int windows = 0;
  std::int64_t tokens = 0;
  std::int64_t corpus_tokens = 0;
  double seconds = 0.0;
  double tokens_per_second = 0.0;
  std::vector<double> window_nll;
  std::vector<float> token_nll;     // the loss of every predicted token, in window order
  double perplexity_se = 0.0;       // standard error of the perplexity (delta method over token_nll)
  bool compared_with_float = false; // float_reference_dir was set: vs_float holds the comparison
  TokenComparison vs_float;
  std::string float_reference_file;
  std::string float_reference_status;  // "read from the cache" | "computed (why)"
  int resumed_windows = 0;          // windows of this process's share read from the checkpoint
  std::string checkpoint_file;      // where they were kept ("" = no checkpoint)
  bool task_run = false;            // task_file was given: `task` holds the outcome, no perplexity
  TaskScores task;
  bool quantized_model = false;     // the model was a quantized directory
  bool unquantized_source = false;  // backend float on a quantized directory: its float source model ran
  std::int64_t outlier_count = 0;   // quantized backends
  int file_packed_linears = 0;      // quantized backends: Linears running a checkpoint's own codes
  double file_packed_max_abs_error = 0.0;  // their largest |chip value - file value|
  int requantized_linears = 0;      // checkpoint Linears of a type no cell holds, requantized with RTN
  // hw backends, the checkpoint's Linears: scales and zeros the chip's scale.format / zero.format
  // round (the datapath uses the rounded values; fakequant does not).
  std::int64_t file_scales = 0, file_scales_rounded = 0, file_zeros_rounded = 0;
  std::int64_t weight_ones = 0;
  std::int64_t weight_bits = 0;
  hw::HwCounters hw_counters;       // hw backend, summed over layers
  int hw_linears = 0;               // Linears on the chip (packed weights; each runs every token once)
  std::vector<std::pair<std::string, hw::HwCounters>> hw_layers;  // per chip Linear, in model order
  // Tokens through the model on the chip: every Linear's tokens once.
  std::int64_t model_tokens() const { return hw_linears ? hw_counters.tokens / hw_linears : 0; }
  std::vector<sim::SampledLayerCheck> systemc_checks;  // systemc backend: one per sampled layer
  bool systemc_bit_exact() const;   // every sampled layer accepted and bit-exact (false when none)
};

// The windows rank `rank` of `ranks` evaluates: [begin, end), contiguous, in rank order.
struct WindowShare {
  int begin = 0, end = 0;
};
WindowShare window_share(int windows, int rank, int ranks);

// Replaces backend "auto" by what the model is: fakequant for a quantized directory, else float.
void resolve_backend(EvalOptions& options);

// Throws oacim::Error subclasses naming the file or option on bad input, and oacim::Error when
// the perplexity is not finite (a sign-off never passes on NaN).
EvalResult run_eval(const EvalOptions& options);

// One Linear of a real model with the activations it sees: the fp32 weight [rows x cols] and the
// inputs of the first `tokens` tokens of `text_file` in a float forward pass ([tokens x cols]).
struct LayerCapture {
  std::string layer;
  int rows = 0;
  int cols = 0;
  int tokens = 0;
  std::vector<float> weight;
  std::vector<float> inputs;
};
// Throws InvalidArgument naming the layer (and listing the model's Linears) when it does not exist.
LayerCapture capture_layer(const std::string& model_path, const std::string& tokenizer_path,
                           const std::string& text_file, const std::string& layer, int tokens);

}  // namespace oacim::eval
