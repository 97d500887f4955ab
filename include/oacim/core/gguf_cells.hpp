#pragma once
// GGUF 4-bit blocks onto the chip's cells without requantizing (docs/models.md "GGUF on the chip").
// Every type below is an affine code per block of 32 weights, w = d * q + min with q in [0, 15]:
//   Q4_0  d (fp16), min = -8 d                          -> zero 8, exact
//   Q4_1  d, m (fp16), min = m                          -> zero -m / d (fractional)
//   Q4_K  per 256: d, dmin (fp16); per 32: 6-bit sc, mn -> scale d*sc, zero dmin*mn / (d*sc)
// The 4-bit code goes into the cell unchanged (unsigned codes; a block with d < 0 stores 15 - q so
// that its scale is positive), the scale is d (exact in fp32) and the zero is -min / d in fp32.
// Q4_0's zero is exactly 8 (or 7), so its dequantized values equal ggml's bit for bit; Q4_1 and
// Q4_K round the zero to fp32, which the mapping measures (max_abs_error). Q4_K's second level
// (sub-block scales sharing d along a row) does not fit oacim's second level (rows sharing a group
// grid per block), so its scales are kept as fp32 products d*sc, which are exact. A block with d = 0
// (all weights equal) is re-coded on a grid that holds that value exactly. No torch.
#include <cstdint>

#include "oacim/core/gguf.hpp"
#include "oacim/core/packed_cim_weights.hpp"

namespace oacim {

// Whether a tensor type maps onto the 4-bit cell without requantizing.
bool ggml_type_fits_cell(std::uint32_t type);

struct GgufCellMapping {
  PackedCimWeights weights;
  double max_abs_error = 0.0;       // max |PackedCimWeights value - ggml's value| over the tensor
  std::int64_t recoded_blocks = 0;  // blocks with d = 0 whose codes were replaced (values exact)
  bool exact() const { return max_abs_error == 0.0; }
};

// Rows [row_begin, row_begin + rows) (rows < 0: all) of the 2-D tensor `t` of `file` (ggml shape
// [cols, rows]) as PackedCimWeights with 32-column blocks (a fused tensor, such as GPT-2's q/k/v,
// gives each Linear its rows). FormatError naming the file and tensor for another type or shape,
// rows outside the tensor, or a non-finite scale.
GgufCellMapping gguf_to_packed(const GgufFile& file, const GgufTensor& t, int row_begin = 0, int rows = -1);

}  // namespace oacim
