// HfCheckpoint's GPTQ side: the quantization config and a Linear's qweight/qzeros/scales/g_idx,
// every shape and type checked before the codes are read. Torch-free.
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/model/hf_checkpoint.hpp"

namespace fs = std::filesystem;

namespace oacim::model {

namespace {

template <class T>
T config_value(const nlohmann::json& q, const char* key, T fallback, const std::string& file) {
  if (!q.contains(key) || q[key].is_null()) return fallback;
  try {
    return q[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw FormatError(file, fmt::format("key '{}' has the wrong type", key));
  }
}

}  // namespace

void HfCheckpoint::read_gptq_config() {
  nlohmann::json q;
  std::string file;
  if (config_.contains("quantization_config")) {
    q = config_["quantization_config"];
    file = config_path_;
  } else if (fs::exists(fs::path(dir_) / "quantize_config.json")) {
    file = (fs::path(dir_) / "quantize_config.json").string();
    q = read_json_file(file);
  } else {
    return;
  }
  if (!q.is_object()) throw FormatError(file, "the quantization config is not an object");
  const std::string method = config_value<std::string>(q, "quant_method", "gptq", file);
  if (method != "gptq") {
    throw FormatError(file, fmt::format("quant_method '{}' is not read (oacim reads GPTQ checkpoints and GGUF files)", method));
  }
  GptqQuantization g;
  g.source = file;
  g.bits = config_value<int>(q, "bits", 4, file);
  g.group_size = config_value<int>(q, "group_size", -1, file);
  g.desc_act = config_value<bool>(q, "desc_act", false, file);
  g.sym = config_value<bool>(q, "sym", true, file);
  const std::string format = config_value<std::string>(q, "checkpoint_format", "gptq", file);
  try {
    g.zeros = gptq_zeros_from_string(format, "checkpoint_format");
  } catch (const InvalidArgument& e) {
    throw FormatError(file, e.what());
  }
  if (g.bits == 8) throw FormatError(file, "8-bit GPTQ codes do not fit a 4-bit cell");
  if (g.bits < 2 || g.bits > 4) throw FormatError(file, fmt::format("bits {} is not 2, 3 or 4", g.bits));
  if (g.group_size != -1 && (g.group_size < 1 || g.group_size > (1 << 24))) {
    throw FormatError(file, fmt::format("group_size {} is neither -1 nor a column count", g.group_size));
  }
  gptq_ = g;
}

GptqLayer HfCheckpoint::gptq_layer(const std::string& name, int out, int in) const {
  if (!gptq_) throw FormatError(dir_, "is not a GPTQ checkpoint");
  const GptqQuantization& g = *gptq_;
  GptqLayer l;
  l.rows = out;
  l.cols = in;
  l.bits = g.bits;
  const SafetensorsFile& fs_ = file_of(name + ".scales");
  const TensorView& sv = fs_.tensor(name + ".scales");
  if (sv.shape.size() != 2 || sv.shape[1] != out || sv.shape[0] < 1 || sv.shape[0] > in) {
    throw FormatError(fs_.path(), fmt::format("tensor '{}.scales' has shape [{}], not [groups, {}]", name, fmt::join(sv.shape, ", "), out));
  }
  const std::int64_t G = sv.shape[0];
  l.scales.resize(static_cast<std::size_t>(sv.numel()));
  fs_.read_floats(name + ".scales", l.scales.data());
  const auto words = [&](const std::string& t, std::int64_t a, std::int64_t b) {
    return file_of(t).read<std::int32_t>(t, DType::I32, {a, b});
  };
  if ((static_cast<std::int64_t>(in) * g.bits) % 32 != 0 || (static_cast<std::int64_t>(out) * g.bits) % 32 != 0) {
    throw FormatError(file_of(name + ".qweight").path(),
                      fmt::format("Linear '{}' of {} x {} is not whole 32-bit words of {}-bit codes", name, out, in, g.bits));
  }
  l.qweight = words(name + ".qweight", static_cast<std::int64_t>(in) * g.bits / 32, out);
  l.qzeros = words(name + ".qzeros", G, static_cast<std::int64_t>(out) * g.bits / 32);
  if (contains(name + ".g_idx")) {
    l.g_idx = file_of(name + ".g_idx").read<std::int32_t>(name + ".g_idx", DType::I32, {in});
  } else {  // older checkpoints: groups of group_size in column order
    const int size = g.group_size == -1 ? in : g.group_size;
    for (int c = 0; c < in; ++c) l.g_idx.push_back(c / size);
  }
  return l;
}

GptqImport HfCheckpoint::gptq_import(const std::string& name, int out, int in) const {
  return gptq_to_packed(gptq_layer(name, out, in), gptq_->zeros, fmt::format("{} (Linear '{}')", file_of(name + ".qweight").path(), name));
}

}  // namespace oacim::model
