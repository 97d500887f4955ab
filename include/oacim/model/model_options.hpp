#pragma once
// The options every model command shares, declared once: the float model, a tokenizer override and
// the folder of the named datasets. Each command's option table binds them to its own struct
// (calib, quantize, tweak, eval); experiment files read them as `model`, `tokenizer`, `data_dir`.
// Torch-free.
#include "oacim/core/option_table.hpp"

namespace oacim::model {

const OptionSpec& model_path_spec();   // `--model`, experiment key `model` (required)
const OptionSpec& tokenizer_spec();    // `--tokenizer`, `tokenizer`
const OptionSpec& data_dir_spec();     // `--data-dir`, `data_dir`

}  // namespace oacim::model
