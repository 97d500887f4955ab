#pragma once
// Second-level (SpQR-style) quantization of the per-(row, block) scales and zeros
// (docs/algorithms.md A.2). For every block column, `group_size` consecutive rows form a group (the
// last group may be shorter); each group gets a `bits`-bit grid with its own fp16 scale and
// zero. Scales use an asymmetric grid with an unrounded zero; zeros use the same or, with
// `zero_sym`, a symmetric one. The values the chip uses are the dequantized ones.
#include <cstdint>
#include <vector>

namespace oacim {

struct SecondLevelSpec {
  int scale_bits = 0;     // 0 = scales kept in full precision
  int zero_bits = 0;      // 0 = zeros kept as integers
  bool zero_sym = false;  // symmetric second-level grid for the zeros
  int group_size = 16;    // rows per second-level group (upstream ignores its flag; we honour it)

  bool quantize_scales() const { return scale_bits > 0; }
  bool quantize_zeros() const { return zero_bits > 0; }
  // Throws InvalidArgument naming the field; `weight_bits` bounds zero_bits (upstream applies
  // the zero quantizer only when zero_bits <= weight_bits).
  void validate(int weight_bits) const;
};

// Quantized statistics of one [rows x blocks] matrix (row-major).
struct SecondLevelResult {
  std::vector<std::uint8_t> codes;  // [rows * blocks]
  std::vector<float> qq_scale;      // [groups * blocks], fp16-representable
  std::vector<float> qq_zero;       // [groups * blocks], fp16-representable
  std::vector<float> values;        // [rows * blocks], dequantized: qq_scale * (code - qq_zero)
};

int num_groups(int rows, int group_size);

// Quantizes `values` ([rows x blocks], row-major) group-wise. `sym` selects the symmetric grid.
SecondLevelResult quantize_second_level(const std::vector<float>& values, int rows, int blocks, int bits,
                                        bool sym, int group_size);

// Dequantizes stored codes with their group parameters (the loader's path; the same arithmetic).
std::vector<float> dequantize_second_level(const std::vector<std::uint8_t>& codes, const std::vector<float>& qq_scale,
                                           const std::vector<float>& qq_zero, int rows, int blocks, int group_size);

}  // namespace oacim
