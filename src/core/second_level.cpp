#include "oacim/core/second_level.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"

namespace oacim {

void SecondLevelSpec::validate(int weight_bits) const {
  if (scale_bits < 0 || scale_bits > 8) {
    throw InvalidArgument("qq_scale_bits", fmt::format("{} is outside 0..8 (0 = off)", scale_bits));
  }
  if (zero_bits < 0 || zero_bits > 8) {
    throw InvalidArgument("qq_zero_bits", fmt::format("{} is outside 0..8 (0 = off)", zero_bits));
  }
  if (zero_bits > weight_bits) {
    throw InvalidArgument("qq_zero_bits", fmt::format("{} exceeds the weight bits {}: the zero is an integer code "
                                                      "and needs no wider second-level grid",
                                                      zero_bits, weight_bits));
  }
  if (group_size < 1) throw InvalidArgument("qq_group_size", fmt::format("{} must be >= 1", group_size));
}

int num_groups(int rows, int group_size) { return (rows + group_size - 1) / group_size; }

namespace {

float dequant(int code, float s, float z) { return s * (static_cast<float>(code) - z); }

}  // namespace

SecondLevelResult quantize_second_level(const std::vector<float>& values, int rows, int blocks, int bits, bool sym,
                                        int group_size) {
  const int groups = num_groups(rows, group_size);
  const int maxq = (1 << bits) - 1;
  SecondLevelResult out;
  out.codes.assign(static_cast<std::size_t>(rows) * blocks, 0);
  out.values.assign(static_cast<std::size_t>(rows) * blocks, 0.0f);
  out.qq_scale.assign(static_cast<std::size_t>(groups) * blocks, 1.0f);
  out.qq_zero.assign(static_cast<std::size_t>(groups) * blocks, 0.0f);
  for (int g = 0; g < groups; ++g) {
    const int r0 = g * group_size;
    const int r1 = std::min(rows, r0 + group_size);
    for (int b = 0; b < blocks; ++b) {
      float lo = values[static_cast<std::size_t>(r0) * blocks + b];
      float hi = lo;
      for (int r = r0; r < r1; ++r) {
        const float v = values[static_cast<std::size_t>(r) * blocks + b];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      float s;
      float z;
      if (sym) {
        const float amax = std::max(std::fabs(lo), std::fabs(hi));
        s = amax > 0.0f ? 2.0f * amax / static_cast<float>(maxq) : 1.0f;
        z = static_cast<float>(maxq + 1) / 2.0f;
      } else if (hi > lo) {
        s = (hi - lo) / static_cast<float>(maxq);
        z = -lo / s;
      } else {  // constant group: one exact level
        s = lo != 0.0f ? std::fabs(lo) : 1.0f;
        z = lo < 0.0f ? 1.0f : (lo > 0.0f ? -1.0f : 0.0f);
      }
      // The chip and the file hold the group parameters in fp16; quantize with those values.
      s = round_to_fp16(s);
      z = round_to_fp16(z);
      out.qq_scale[static_cast<std::size_t>(g) * blocks + b] = s;
      out.qq_zero[static_cast<std::size_t>(g) * blocks + b] = z;
      for (int r = r0; r < r1; ++r) {
        const std::size_t i = static_cast<std::size_t>(r) * blocks + b;
        const float q = std::nearbyint(values[i] / std::max(s, 1e-9f) + z);
        const int code = static_cast<int>(std::min(std::max(q, 0.0f), static_cast<float>(maxq)));
        out.codes[i] = static_cast<std::uint8_t>(code);
        out.values[i] = dequant(code, s, z);
      }
    }
  }
  return out;
}

std::vector<float> dequantize_second_level(const std::vector<std::uint8_t>& codes, const std::vector<float>& qq_scale,
                                           const std::vector<float>& qq_zero, int rows, int blocks, int group_size) {
  std::vector<float> out(static_cast<std::size_t>(rows) * blocks);
  for (int r = 0; r < rows; ++r) {
    const int g = r / group_size;
    for (int b = 0; b < blocks; ++b) {
      const std::size_t i = static_cast<std::size_t>(r) * blocks + b;
      const std::size_t gi = static_cast<std::size_t>(g) * blocks + b;
      out[i] = dequant(codes[i], qq_scale[gi], qq_zero[gi]);
    }
  }
  return out;
}

}  // namespace oacim
