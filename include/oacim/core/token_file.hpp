#pragma once
// Token sample files: ragged sequences of token ids with the settings that made them, stored as
// safetensors (tensors "tokens" I32 [total] and "lengths" I32 [samples]; metadata
// oacim.format = oacim-tokens/1 plus free key/value pairs). `oacim calib` writes them; quantize
// and tweak read them as calibration data. No torch.
#include <map>
#include <string>
#include <vector>

namespace oacim {

inline constexpr const char* kTokenFileFormat = "oacim-tokens/1";

struct TokenSamples {
  std::vector<std::vector<int>> samples;       // each non-empty
  std::map<std::string, std::string> metadata;  // e.g. oacim.model, oacim.seed
};

// Writes atomically; InvalidArgument for an empty sample or no samples.
void write_token_file(const std::string& path, const TokenSamples& samples);
// FormatError naming the file for a missing tensor, a wrong dtype or lengths that do not add up.
TokenSamples read_token_file(const std::string& path);
// The first `n` samples of `samples`, each cut to at most `max_len` tokens: InvalidArgument
// ("nsamples") when there are fewer, FormatError naming `source` for an id >= `vocab`.
std::vector<std::vector<int>> first_samples(const TokenSamples& samples, const std::string& source, int n, int max_len,
                                            int vocab);
// True when `path` is a regular file that names the token format in its first MiB (where a token
// file's header is): it claims to be a token file, so read_token_file() must succeed on it or say
// why; a damaged token file is never taken for text.
bool is_token_file(const std::string& path);

}  // namespace oacim
