#pragma once
// DiscQuant's optimisation state on disk (DIR/partial/discquant.safetensors): every layer's x, the
// Adam moments of the group in training, where the run stands (group, step, window cursor, Adam's
// step count) and the log so far, written atomically; a run of the same model and options (the
// key) resumes from it with the same bits as an unbroken run. Needs libtorch.
#include <cstddef>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/quant/discquant_options.hpp"

namespace oacim::quant {

struct DiscQuantCheckpoint {
  int group = 0;             // the group in training (or the next one, at step 0)
  int step = 0;              // its next step
  std::size_t window = 0;    // the next calibration window in the seeded order
  long adam_steps = 0;
  std::vector<DiscQuantStep> log;
  struct Layer {
    std::string name;
    at::Tensor x;            // [R, C]
    at::Tensor m, v;         // Adam's moments; undefined outside the group in training
  };
  std::vector<Layer> layers;
};

void write_discquant_checkpoint(const std::string& path, const std::string& key, const DiscQuantCheckpoint& checkpoint);

// Reads `path` for the layers named in `shapes` (name, [R, C]); moments where the file has them.
// FormatError naming the file when it belongs to another model or options (`key`) or is damaged.
DiscQuantCheckpoint read_discquant_checkpoint(const std::string& path, const std::string& key,
                                              const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& shapes);

}  // namespace oacim::quant
