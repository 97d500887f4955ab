#include "oacim/core/token_file.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"

namespace oacim {

void write_token_file(const std::string& path, const TokenSamples& s) {
  if (s.samples.empty()) throw InvalidArgument("samples", "no token samples to write");
  std::vector<std::int32_t> tokens, lengths;
  for (std::size_t i = 0; i < s.samples.size(); ++i) {
    if (s.samples[i].empty()) throw InvalidArgument("samples", fmt::format("sample {} is empty", i));
    lengths.push_back(static_cast<std::int32_t>(s.samples[i].size()));
    tokens.insert(tokens.end(), s.samples[i].begin(), s.samples[i].end());
  }
  SafetensorsWriter w;
  w.add("tokens", DType::I32, {static_cast<std::int64_t>(tokens.size())}, tokens);
  w.add("lengths", DType::I32, {static_cast<std::int64_t>(lengths.size())}, lengths);
  for (const auto& [k, v] : s.metadata) w.set_metadata(k, v);
  w.set_metadata("oacim.format", kTokenFileFormat);
  w.write(path);
}

TokenSamples read_token_file(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  if (!f.metadata().count("oacim.format") || f.metadata().at("oacim.format") != kTokenFileFormat) {
    throw FormatError(path, fmt::format("not a token sample file (metadata oacim.format is not {})", kTokenFileFormat));
  }
  for (const char* name : {"tokens", "lengths"}) {
    if (!f.contains(name)) throw FormatError(path, fmt::format("tensor '{}' is missing", name));
    if (f.tensor(name).dtype != DType::I32 || f.tensor(name).shape.size() != 1) {
      throw FormatError(path, fmt::format("tensor '{}' must be a one-dimensional I32 tensor", name));
    }
  }
  const auto tokens = f.read<std::int32_t>("tokens", DType::I32, f.tensor("tokens").shape);
  const auto lengths = f.read<std::int32_t>("lengths", DType::I32, f.tensor("lengths").shape);
  TokenSamples out;
  std::size_t at = 0;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 1 || at + static_cast<std::size_t>(lengths[i]) > tokens.size()) {
      throw FormatError(path, fmt::format("lengths[{}] = {} runs past the {} stored tokens", i, lengths[i], tokens.size()));
    }
    out.samples.emplace_back(tokens.begin() + static_cast<std::ptrdiff_t>(at),
                             tokens.begin() + static_cast<std::ptrdiff_t>(at + static_cast<std::size_t>(lengths[i])));
    at += static_cast<std::size_t>(lengths[i]);
  }
  if (at != tokens.size()) throw FormatError(path, fmt::format("lengths add up to {}, but {} tokens are stored", at, tokens.size()));
  if (out.samples.empty()) throw FormatError(path, "holds no samples");
  for (const auto& s : out.samples) {
    for (int t : s) {
      if (t < 0) throw FormatError(path, fmt::format("token id {} is negative", t));
    }
  }
  out.metadata = f.metadata();
  return out;
}

std::vector<std::vector<int>> first_samples(const TokenSamples& t, const std::string& source, int n, int max_len, int vocab) {
  if (static_cast<int>(t.samples.size()) < n) {
    throw InvalidArgument("nsamples", fmt::format("{} holds {} samples, fewer than {}", source, t.samples.size(), n));
  }
  std::vector<std::vector<int>> out;
  for (int i = 0; i < n; ++i) {
    const std::vector<int>& s = t.samples[static_cast<std::size_t>(i)];
    for (int id : s) {
      if (id >= vocab) throw FormatError(source, fmt::format("token {} is outside the model's vocabulary of {}", id, vocab));
    }
    out.emplace_back(s.begin(), s.begin() + std::min<std::ptrdiff_t>(max_len, static_cast<std::ptrdiff_t>(s.size())));
  }
  return out;
}

bool is_token_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  // A file that names the token-file format in its (safetensors) header claims to be one: if it
  // is damaged, reading it must fail loudly rather than fall back to reading it as text.
  std::ifstream in(path, std::ios::binary);
  std::string head(1 << 20, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head.find(kTokenFileFormat) != std::string::npos;
}

}  // namespace oacim
