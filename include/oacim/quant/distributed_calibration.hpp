#pragma once
// Self-generated calibration over the ranks of a job: each rank decodes its share of the chunks
// (model::generate_calibration_share, chunk k on rank k % ranks), the shares travel to every rank
// and are put back together. The same samples, bit for bit, as one process, in about 1/ranks of
// the time; each rank holds the whole float model while it decodes. Torch-free header.
#include <functional>
#include <string>

#include "oacim/core/token_file.hpp"
#include "oacim/dist/communicator.hpp"
#include "oacim/model/calibration_generator.hpp"

namespace oacim::quant {

// Every rank returns the whole set; `progress(chunks done, this rank's chunks)` on every rank.
TokenSamples generate_calibration_on_ranks(const model::LoadedModel& model, const model::CalibrationGenOptions& options,
                                           dist::Communicator& comm,
                                           const std::function<void(int, int)>& progress = {});
// The same from a model path: loads the float model and its tokenizer (a quantized directory is
// refused: calibration text comes from the float model).
TokenSamples generate_calibration_on_ranks(const std::string& model_path, const std::string& tokenizer_path,
                                           const model::CalibrationGenOptions& options, dist::Communicator& comm,
                                           const std::function<void(int, int)>& progress = {});

}  // namespace oacim::quant
