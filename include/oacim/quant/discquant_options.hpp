#pragma once
// DiscQuant's settings (docs/algorithms.md D.3 defaults), its learning-rate schedule and the logged
// steps: the torch-free part of discquant.hpp, for the CLI and quantize_run.hpp.
#include <cstdint>
#include <string>

namespace oacim::quant {

struct DiscQuantOptions {
  int steps = 1024;             // optimizer steps
  int warmup = 128;             // linear warm-up steps; the first step has lr 0 (HF schedule)
  double lr = 0.01;             // peak learning rate
  double clamp = 0.1;           // rho * dL/dx is clamped to [-clamp, clamp]
  double rho = 10.0;            // rho_factor (upstream default; its paper scripts use 200)
  double weight_decay = 0.01;   // AdamW's decoupled decay: torch's default, left on upstream
  int windows_per_step = 1;     // calibration windows per step (upstream: batch 1 x grad_accum 8)
  std::string init = "rand";    // rand: x ~ U[0, 1] | orig: x = y (the float weights)
  std::uint64_t seed = 42;
  int blocks_at_once = 0;       // train this many consecutive blocks together (0: all; fewer: less memory)
  int log_every = 32;           // progress every N steps (and the first and last)
  // Checkpoint of the optimisation (x, Adam's moments, step, window cursor, log) written
  // atomically every `checkpoint_every` steps and at each group's end; a run that finds one made
  // with the same `checkpoint_key` resumes from it with the same bits as an unbroken run.
  std::string checkpoint_file;  // "" = none
  std::string checkpoint_key;   // what must match (the run's options)
  int checkpoint_every = 64;
  int stop_after = 0;           // run at most this many steps, checkpoint and stop (0: to the end)

  void validate() const;        // InvalidArgument naming the --dq-* option
};

// HF get_cosine_schedule_with_warmup: lr * t / warmup before warm-up ends, then a half cosine to 0.
double discquant_lr(const DiscQuantOptions& options, int step);

struct DiscQuantStep {
  int step = 0;
  double lr = 0.0;
  double kl = 0.0;           // KL of the step's windows (nats per token), before the update
  double fractional = 0.0;   // share of trainable x strictly inside (0.01, 0.99)
  int group = 0;             // which block group trained
};

}  // namespace oacim::quant
