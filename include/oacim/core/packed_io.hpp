#pragma once
// Safetensors serialization of PackedCimWeights (docs/architecture.md lists the tensor names).
// Several layers can share one file: every tensor and metadata key of a layer starts with its
// `prefix` (e.g. "model.layers.0.mlp.down_proj."); the single-layer file uses an empty prefix.
#include <memory>
#include <string>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/core/safetensors.hpp"

namespace oacim {

inline constexpr const char* kPackedFormatName = "oacim.packed_cim_weights";

// Adds the layer's tensors and metadata to `writer`.
void add_packed(SafetensorsWriter& writer, const std::string& prefix, const PackedCimWeights& weights);
// Adds the layer stored under `prefix` in `file` (every tensor and metadata key with the prefix)
// to `writer` under the same prefix, the tensors as views into the file's mapping (no copy).
// The caller has validated the layer (load_packed); FormatError when `file` holds none.
void add_packed_view(SafetensorsWriter& writer, const std::string& prefix, std::shared_ptr<const SafetensorsFile> file);
// Reads a layer back; every missing, mis-shaped or inconsistent piece is a FormatError.
PackedCimWeights load_packed(const SafetensorsFile& file, const std::string& prefix);

void save_packed(const std::string& path, const PackedCimWeights& weights);
PackedCimWeights load_packed(const std::string& path);

}  // namespace oacim
