#pragma once
// `oacim eval`'s options on the option engine (core/option_table.hpp), each declared once and
// bound to the EvalOptions field it sets; experiment files reach them as eval.* and systemc.*.
// Torch-free.
#include <vector>

#include "oacim/core/option_table.hpp"
#include "oacim/eval/eval_run.hpp"

namespace oacim::eval {

const std::vector<Option<EvalOptions>>& eval_options();

}  // namespace oacim::eval
