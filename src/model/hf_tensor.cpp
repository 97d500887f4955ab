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
}

at::Tensor HfCheckpoint::tensor(const std::string& name, const std::vector<std::int64_t>& shape) const {
  const std::string base = name.size() > kWeight.size() ? name.substr(0, name.size() - kWeight.size()) : "";
  if (!contains(name) && shape.size() == 2 && name.size() > kWeight.size() &&
      name.compare(name.size() - kWeight.size(), kWeight.size(), kWeight) == 0 && is_gptq_linear(base)) {
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
