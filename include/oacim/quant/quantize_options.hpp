#pragma once
// `oacim quantize`'s options on the option engine (core/option_table.hpp), each declared once with
// its CLI spelling, experiment key (quantization.*, discquant.*, calibration.*), type, default,
// range and doc, bound to the QuantizeRunOptions field it sets. The CLI, the experiment schema and
// validator, the sweep's quantize tasks, the options JSON of results and docs/configs.md read it.
// Torch-free.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oacim/core/option_table.hpp"
#include "oacim/quant/quantize_run.hpp"

namespace oacim::quant {

const std::vector<Option<QuantizeRunOptions>>& quantize_options();

// What the options leave to be derived: the largest offset (max_offset < 0: the method's default).
void resolve(QuantizeRunOptions& options);

// Every option with a JSON key that applies (kept in the quantized model's metadata and in reports).
nlohmann::json quantize_options_json(const QuantizeRunOptions& options);

}  // namespace oacim::quant
