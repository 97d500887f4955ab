// HfCheckpoint::tensor: a checkpoint tensor copied out as fp32, checked finite (libtorch).
#include <ATen/ops/empty.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "oacim/core/error.hpp"
#include "oacim/core/finite.hpp"
#include "oacim/model/hf_checkpoint.hpp"

namespace oacim::model {

namespace {

const std::string kWeight = ".weight";

// "<base>.weight" -> "<base>" (empty for another name).
std::string weight_base(const std::string& name) {
  if (name.size() <= kWeight.size() || name.compare(name.size() - kWeight.size(), kWeight.size(), kWeight) != 0) return "";
  return name.substr(0, name.size() - kWeight.size());
}

}  // namespace

void HfCheckpoint::check_tensor(const std::string& name, const std::vector<std::int64_t>& shape) const {
  if (!contains(name) && shape.size() == 2 && is_gptq_linear(weight_base(name))) return;  // gptq_import checks its tensors
  const SafetensorsFile& f = file_of(name);
  const TensorView& v = f.tensor(name);
  if (v.shape != shape) {
    throw FormatError(f.path(), fmt::format("tensor '{}' has shape [{}], expected [{}]", name, fmt::join(v.shape, ", "),
                                            fmt::join(shape, ", ")));
  }
  if (v.dtype != DType::F32 && v.dtype != DType::F16 && v.dtype != DType::BF16) {
    throw FormatError(f.path(), fmt::format("tensor '{}' is {}, not F32, F16 or BF16", name, dtype_name(v.dtype)));
  }
}

std::function<at::Tensor()> tensor_source(std::shared_ptr<const HfCheckpoint> checkpoint, const std::string& name,
                                          std::vector<std::int64_t> shape) {
  checkpoint->check_tensor(name, shape);
  return [checkpoint = std::move(checkpoint), name, shape = std::move(shape)] { return checkpoint->tensor(name, shape); };
}

at::Tensor HfCheckpoint::tensor(const std::string& name, const std::vector<std::int64_t>& shape) const {
  const std::string base = weight_base(name);
  if (!contains(name) && shape.size() == 2 && is_gptq_linear(base)) {
    // A GPTQ Linear: its values, in the checkpoint's column order.
    const GptqImport imp = gptq_import(base, static_cast<int>(shape[0]), static_cast<int>(shape[1]));
    const std::vector<float> chip = imp.weights.dequantize();
    at::Tensor out = at::empty(shape, at::kFloat);
    float* dst = out.data_ptr<float>();
    const std::int64_t R = shape[0], C = shape[1];
    for (std::int64_t r = 0; r < R; ++r) {
      for (std::int64_t j = 0; j < C; ++j) {
        const std::int64_t c = imp.input_order.empty() ? j : imp.input_order[static_cast<std::size_t>(j)];
        dst[r * C + c] = chip[static_cast<std::size_t>(r * C + j)];
      }
    }
    return out;
  }
  const auto it = where_.find(name);
  if (it == where_.end()) throw FormatError(dir_, fmt::format("tensor '{}' is missing", name));
  const SafetensorsFile& f = *files_.at(it->second);
  const TensorView& v = f.tensor(name);
  if (v.shape != shape) {
    throw FormatError(f.path(), fmt::format("tensor '{}' has shape [{}], expected [{}]", name, fmt::join(v.shape, ", "),
                                            fmt::join(shape, ", ")));
  }
  at::Tensor out = at::empty(shape, at::kFloat);
  float* dst = out.data_ptr<float>();
  f.read_floats(name, dst);
  require_finite(dst, static_cast<std::size_t>(v.numel()), f.path(), name, shape.size() == 2 ? shape[1] : 0);
  return out;
}

}  // namespace oacim::model
