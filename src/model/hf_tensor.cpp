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

at::Tensor HfCheckpoint::tensor(const std::string& name, const std::vector<std::int64_t>& shape) const {
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
