#pragma once
// `oacim tweak`'s options on the option engine (core/option_table.hpp), each declared once and
// bound to the TweakRunOptions field it sets; experiment files reach them as normtweak.* (and the
// shared calibration.nsamples). Torch-free.
#include <vector>

#include <nlohmann/json.hpp>

#include "oacim/core/option_table.hpp"
#include "oacim/tweak/tweak_run.hpp"

namespace oacim::tweak {

const std::vector<Option<TweakRunOptions>>& tweak_options();

// Every option with a JSON key that applies.
nlohmann::json tweak_options_to_json(const TweakRunOptions& options);

}  // namespace oacim::tweak
