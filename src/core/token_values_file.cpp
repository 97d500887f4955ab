#include "oacim/core/token_values_file.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fnv1a.hpp"
#include "oacim/core/safetensors.hpp"

namespace oacim {

namespace {

std::string checksum(const std::vector<float>& v) {
  return fmt::format("{:016x}", fnv1a64(v.data(), v.size() * sizeof(float)));
}

}  // namespace

void write_token_values(const std::string& path, const TokenValues& t) {
  SafetensorsWriter w;
  w.add("values", DType::F32, {static_cast<std::int64_t>(t.values.size())}, t.values);
  for (const auto& [k, v] : t.metadata) w.set_metadata(k, v);
  w.set_metadata("oacim.format", kTokenValuesFormat);
  w.set_metadata("oacim.checksum", checksum(t.values));
  w.write(path);
}

TokenValues read_token_values(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  const auto& meta = f.metadata();
  if (!meta.count("oacim.format") || meta.at("oacim.format") != kTokenValuesFormat) {
    throw FormatError(path, fmt::format("not a per-token values file (metadata oacim.format is not {})", kTokenValuesFormat));
  }
  if (!f.contains("values") || f.tensor("values").dtype != DType::F32 || f.tensor("values").shape.size() != 1) {
    throw FormatError(path, "tensor 'values' must be a one-dimensional F32 tensor");
  }
  TokenValues t;
  t.values = f.read<float>("values", DType::F32, f.tensor("values").shape);
  t.metadata = meta;
  if (!meta.count("oacim.checksum") || meta.at("oacim.checksum") != checksum(t.values)) {
    throw FormatError(path, "the values do not match their checksum (oacim.checksum): the file is damaged");
  }
  return t;
}

}  // namespace oacim
