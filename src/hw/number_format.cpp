#include "oacim/hw/number_format.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"

namespace oacim::hw {

std::string to_string(NumFormat f) {
  switch (f) {
    case NumFormat::Fp32: return "fp32";
    case NumFormat::Bf16: return "bf16";
    case NumFormat::Fp16: return "fp16";
  }
  return "?";
}

NumFormat num_format_from_string(const std::string& text, const std::string& key) {
  if (text == "fp32") return NumFormat::Fp32;
  if (text == "bf16") return NumFormat::Bf16;
  if (text == "fp16") return NumFormat::Fp16;
  throw InvalidArgument(key, fmt::format("'{}' is not one of fp32, bf16, fp16", text));
}

int precision_bits(NumFormat f) {
  switch (f) {
    case NumFormat::Fp32: return 24;
    case NumFormat::Bf16: return 8;
    case NumFormat::Fp16: return 11;
  }
  return 24;
}

int min_normal_exponent(NumFormat f) { return f == NumFormat::Fp16 ? -14 : -126; }

float round_fp16(float v) { return oacim::round_to_fp16(v); }

Decomposed decompose(float v, NumFormat f) { return decompose(v, precision_bits(f), min_normal_exponent(f)); }

}  // namespace oacim::hw
