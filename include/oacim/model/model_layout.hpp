#pragma once
// The names of every family's block Linears, declared once: the decoders name their QuantLinears
// with linear_name(), and model_linear_names() lists a checkpoint's Linears from its header or
// config.json and tensor index alone (no weights, no torch), so an experiment file can be checked
// before anything runs.
#include <string>
#include <vector>

namespace oacim::model {

enum class LinearNaming { Llama2c, HfLlama, Opt, Gpt2 };
enum class LinearRole { Q, K, V, O, Gate, Up, Down, Fc1, Fc2 };

// The roles of one block, in the order the decoder's block_linears() lists them.
const std::vector<LinearRole>& block_roles(LinearNaming naming);

// The Linear's name (also the checkpoint tensor's name without ".weight", except GPT-2's split
// q/k/v of c_attn). `gpt2_prefix` is "transformer." for GPT2LMHeadModel files, "" otherwise.
std::string linear_name(LinearNaming naming, int layer, LinearRole role, const std::string& gpt2_prefix = "");

// Every block Linear of the float model at `path` (llama2.c checkpoint or Hugging Face
// directory). FormatError naming the file when its header or config cannot say.
std::vector<std::string> model_linear_names(const std::string& path);

}  // namespace oacim::model
