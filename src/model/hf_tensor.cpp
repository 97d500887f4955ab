// HfCheckpoint::tensor: a checkpoint tensor copied out as fp32, checked finite (libtorch).
#include <cstring>

#include <ATen/ops/empty.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "oacim/core/bf16.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/finite.hpp"
#include "oacim/core/fp16.hpp"
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
  const std::int64_t n = v.numel();
  switch (v.dtype) {
    case DType::F32: std::memcpy(dst, v.data, static_cast<std::size_t>(n) * 4); break;
    case DType::F16:
    case DType::BF16:
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t b;
        std::memcpy(&b, v.data + 2 * i, 2);
        dst[i] = v.dtype == DType::F16 ? float_from_fp16_bits(b) : Bf16::from_bits(b).to_float();
      }
      break;
    default:
      throw FormatError(f.path(), fmt::format("tensor '{}' is {}, not F32, F16 or BF16", name, dtype_name(v.dtype)));
  }
  require_finite(dst, static_cast<std::size_t>(n), f.path(), name, shape.size() == 2 ? shape[1] : 0);
  return out;
}

}  // namespace oacim::model
