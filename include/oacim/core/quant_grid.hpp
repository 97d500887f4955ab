#pragma once
// The uniform quantization grid shared by every quantizer (docs/algorithms.md A.2, docs/design.md §2).
// Codes have `bits` bits: signed two's complement [-2^(b-1), 2^(b-1)-1] ("sym": the min/max range
// is mapped onto centred codes; it is not symmetric around 0 in value) or unsigned [0, 2^b-1].
// Per (row, block) a scale and a zero; dequantized weight w = scale * (q - zero - offset).
// Rounding is half to even (std::nearbyint), like torch.round.
#include <cstddef>
#include <cstdint>
#include <string>

namespace oacim {

enum class CodeKind { Signed, Unsigned };

std::string to_string(CodeKind kind);
CodeKind code_kind_from_string(const std::string& text, const std::string& key);

struct GridSpec {
  int bits = 4;                       // 2..8
  CodeKind kind = CodeKind::Signed;   // "sym" in upstream terms
  int block_size = 32;                // columns per (row, block) scale/zero; multiple of 4
  // Offsets in the cell: codes narrower than the 4-bit cell store q + o in the cell's own range
  // (sign- or zero-extended), so an offset never clips a code (lossless offsets); q itself is still
  // clamped to the code range. Off: q + o is clamped to the code range (upstream).
  bool offsets_in_cell = false;

  int code_min() const { return kind == CodeKind::Signed ? -(1 << (bits - 1)) : 0; }
  int code_max() const { return kind == CodeKind::Signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }
  // What a cell may hold: the 4-bit cell's range with offsets in the cell, else the code range.
  int stored_min() const { return offsets_in_cell ? (kind == CodeKind::Signed ? -8 : 0) : code_min(); }
  int stored_max() const { return offsets_in_cell ? (kind == CodeKind::Signed ? 7 : 15) : code_max(); }
  // Offsets that keep every code inside the cell (offsets in the cell only): [lo, hi].
  int in_cell_offset_min() const { return stored_min() - code_min(); }
  int in_cell_offset_max() const { return stored_max() - code_max(); }
  int levels_minus_one() const { return (1 << bits) - 1; }  // "maxq"
  bool is_signed() const { return kind == CodeKind::Signed; }

  // Throws InvalidArgument naming the offending field.
  void validate() const;
};

// Scale and zero of one (row, block).
struct GridParams {
  float scale = 1.0f;
  float zero = 0.0f;
};

// How a grid's range is taken from the values it must hold.
//   MinMax         OA-CIM (docs/algorithms.md A.2): [min, max] of the values, not forced to contain 0.
//   ZeroInclusive  GPTQ (B.1) asym: [min(min, 0), max(max, 0)].
//   ZeroSymmetric  GPTQ (B.1) sym: [-a, a] with a = max(|min|, max) (a row without negative values
//                  keeps [0, max], as upstream does), zero fixed at the mid code.
enum class RangeRule { MinMax, ZeroInclusive, ZeroSymmetric };
std::string to_string(RangeRule rule);
RangeRule range_rule_from_string(const std::string& text, const std::string& key);

struct RangeOptions {
  RangeRule rule = RangeRule::MinMax;
  // GPTQ's MSE range search (B.1): shrink the range by p = 1, 1 - 1/grid, ... while
  // p > 1 - maxshrink, keep the p with the smallest sum |Q(x) - x|^norm.
  bool mse = false;
  float norm = 2.4f;
  int grid = 100;
  float maxshrink = 0.8f;

  void validate() const;  // throws InvalidArgument naming the field
};

// Scale and zero for the range [xmin, xmax] under `rule` (MinMax is fit_minmax). Zeros are in the
// code domain of `spec`: for signed codes GPTQ's unsigned zero is shifted by code_min().
GridParams fit_range_params(float xmin, float xmax, const GridSpec& spec, RangeRule rule);
// Fits the n values x[0], x[stride], ... (non-finite values are the caller's error). `range`
// overrides the data's [min, max] before the rule applies (OA's Hessian-aware truncation).
GridParams fit_range(const float* x, int n, std::size_t stride, const GridSpec& spec, const RangeOptions& options,
                     const float* range_override = nullptr);

// A.2 with round_zero: fits scale and integer zero to the range [xmin, xmax] (not forced to
// contain 0). A degenerate range (xmin == xmax) gets a grid on which that value is exact.
GridParams fit_minmax(float xmin, float xmax, const GridSpec& spec);

// q = clamp(round(x / max(scale, 1e-9) + zero + offset), code_min, code_max); with offsets in the
// cell, q = clamp(round(x / max(scale, 1e-9) + zero), code_min, code_max) + offset.
int quantize_code(float x, const GridParams& p, int offset, const GridSpec& spec);
// Whether the unclamped code falls outside the grid (the value was clipped).
bool is_clipped(float x, const GridParams& p, int offset, const GridSpec& spec);
// w = scale * (q - zero - offset), evaluated in fp32 in that order.
float dequantize_code(int q, const GridParams& p, int offset);

// Columns [begin, end) of block `b` for `cols` columns (the last block may be ragged).
struct BlockRange {
  int begin;
  int end;
  int size() const { return end - begin; }
};
int num_blocks(int cols, int block_size);
BlockRange block_range(int block, int cols, int block_size);

}  // namespace oacim
