#pragma once
// GPTQ's column loop inside one lazy block (docs/algorithms.md B.2), vectorised over rows: rows
// never interact, so a chunk of rows is transposed (column i of the chunk contiguous) and each
// column's quantization, scaled error and in-block update run across the chunk's rows at once.
// Every value is computed with the same fp32 operations, in the same order per element, as the
// row-by-row loop (quantize_code, dequantize_code, e = (x - xh) / U[i][i], w[k] -= e * U[i][k]),
// so the codes and values are bit for bit those of that loop.
#include <cstddef>
#include <cstdint>

#include "oacim/core/quant_grid.hpp"

namespace oacim::quant {

struct GptqBlockColumns {
  int rows = 0;                       // R
  int n = 0;                          // columns in the lazy block
  const float* w1 = nullptr;          // [R, n] the block, with the earlier blocks' updates
  const float* u = nullptr;           // u[i * u_stride + k] = U[begin + i][begin + k], i, k < n
  std::size_t u_stride = 0;
  const float* const* scale = nullptr;  // [n] per column: the per-row scales [R] of its grid
  const float* const* zero = nullptr;   // [n] per column: the per-row zeros [R]
  GridSpec grid;                      // code range (offset 0)
  float* q1 = nullptr;                // [R, n] dequantized values
  float* err1 = nullptr;              // [R, n] scaled errors
  std::int8_t* codes = nullptr;       // codes[r * code_stride + code_col0 + i]
  std::size_t code_stride = 0;
  std::size_t code_col0 = 0;
  double* row_loss = nullptr;         // [R] += e^2 per column, in column order
};

// Rows [r0, r1) of the block.
void gptq_block_columns(const GptqBlockColumns& job, int r0, int r1);

}  // namespace oacim::quant
