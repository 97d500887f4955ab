#pragma once
// Per-token values of an evaluation (the loss of every predicted token, in window order) as a
// safetensors file: tensor "values" F32 [tokens], metadata oacim.format = oacim-token-values/1,
// oacim.checksum (FNV-1a of the values' bytes, so a damaged file is detected) and free key/value
// pairs (model, dataset, backend, seqlen). `oacim eval --token-nll` writes one; the sweep pairs two
// of them on the same tokens (core/statistics.hpp). No torch.
#include <map>
#include <string>
#include <vector>

namespace oacim {

inline constexpr const char* kTokenValuesFormat = "oacim-token-values/1";

struct TokenValues {
  std::vector<float> values;
  std::map<std::string, std::string> metadata;
};

// Writes atomically (temporary file + rename).
void write_token_values(const std::string& path, const TokenValues& values);
// FormatError naming the file: not this format, a wrong tensor, a checksum that does not match.
TokenValues read_token_values(const std::string& path);

}  // namespace oacim
