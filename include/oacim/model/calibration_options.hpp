#pragma once
// `oacim calib`'s options on the option engine, and the calibration options other commands share
// (sample count, length, seed: experiment keys calibration.nsamples/seqlen/seed), declared once.
// Torch-free.
#include <string>
#include <vector>

#include "oacim/core/option_table.hpp"
#include "oacim/model/calibration_generator.hpp"

namespace oacim::model {

const OptionSpec& calibration_nsamples_spec();  // `--nsamples`, calibration.nsamples
const OptionSpec& calibration_seqlen_spec();    // `--seqlen`, calibration.seqlen
const OptionSpec& calibration_seed_spec();      // `--seed`, calibration.seed

// Everything `oacim calib` takes: the model, the generator's settings and the output file.
struct CalibRunOptions {
  std::string model_path;
  std::string tokenizer_path;
  CalibrationGenOptions gen;
  std::string first_token_ids_file;  // whitespace-separated allowed first-token ids (read by the CLI)
  std::string out;                   // token sample file to write
};

const std::vector<Option<CalibRunOptions>>& calib_options();

}  // namespace oacim::model
