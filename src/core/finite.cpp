#include "oacim/core/finite.hpp"

#include <cmath>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim {

std::int64_t first_non_finite(const float* data, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(data[i])) return static_cast<std::int64_t>(i);
  }
  return -1;
}

void require_finite(const float* data, std::size_t n, const std::string& file, const std::string& tensor,
                    std::int64_t row_length) {
  const std::int64_t i = first_non_finite(data, n);
  if (i < 0) return;
  const float v = data[i];
  const std::string what = std::isnan(v) ? "NaN" : (v > 0 ? "+inf" : "-inf");
  std::string where = fmt::format("index {}", i);
  if (row_length > 0) where += fmt::format(" (row {}, column {})", i / row_length, i % row_length);
  throw FormatError(file, fmt::format("tensor '{}' holds {} at {}: a sign-off needs finite weights", tensor, what, where));
}

}  // namespace oacim
