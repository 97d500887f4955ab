#pragma once
// IEEE 754 binary16 (fp16), used for the second-level quantization parameters. Conversion from
// fp32 rounds to nearest, ties to even, with gradual underflow and overflow to infinity, matching
// c10::Half and numpy.float16.
#include <cstdint>
#include <vector>

namespace oacim {

std::uint16_t fp16_bits_from_float(float value);
float float_from_fp16_bits(std::uint16_t bits);
// fp32 -> nearest fp16 value, returned as fp32.
inline float round_to_fp16(float value) { return float_from_fp16_bits(fp16_bits_from_float(value)); }
std::vector<std::uint16_t> fp16_bits_from_floats(const std::vector<float>& values);
std::vector<float> floats_from_fp16_bits(const std::vector<std::uint16_t>& bits);

}  // namespace oacim
