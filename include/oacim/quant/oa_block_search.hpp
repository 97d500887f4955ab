#pragma once
// The OA-CIM "capacity" search inside one block (docs/algorithms.md A.3 steps 2-7), torch-free.
// For each row: candidate 0 quantizes the block's columns in natural order with GPTQ error
// feedback; candidate c* + 1 keeps column c* as a BF16 outlier, zeroes the other three columns of
// its aligned quad (victims) and processes c*, the victims, the columns before the quad, then the
// columns after it, reusing the block's upper Cholesky factor U without re-factorising (upstream's
// defining approximation). The row takes the candidate with the smallest sum of squared scaled
// errors, ties to the lower index ("no outlier" first).
//
// Exact but cheaper than upstream's (bs + 1) full passes: because U is upper-triangular, the
// quad's errors never reach the columns before it, which therefore quantize exactly as in
// candidate 0; a candidate restarts from candidate 0's state at its quad and only redoes the quad
// and the columns after it, and stops once its partial error reaches the best one found (errors
// only grow). Arithmetic in fp64; outliers are rounded to BF16 before their error is taken.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "oacim/core/bf16.hpp"
#include "oacim/core/quant_grid.hpp"

namespace oacim::quant {

// Auto: eight rows at a time in AVX-512 lanes where the CPU has it (the same bits), the rest row
// by row; Scalar: every row by the row-by-row search (tests compare the two).
enum class OaSearchKernel { Auto, Scalar };

struct OaBlockInput {
  int rows = 0;
  int n = 0;                          // columns in the block (a multiple of 4)
  const float* w = nullptr;           // w[r * stride + c]: the block after earlier blocks' updates
  std::size_t stride = 0;
  const double* u = nullptr;          // [n * n] row-major, the block's upper Cholesky factor of H^-1
  GridSpec grid;
  const GridParams* params = nullptr; // [rows], the block's grid (after the second level)
  const int* offsets = nullptr;       // [n], per-column offsets (all 0 in the first pass)
  bool outliers = false;
  OaSearchKernel kernel = OaSearchKernel::Auto;
};

struct OaBlockOutput {
  std::vector<std::int8_t> codes;     // [rows * n], column order; 0 in the chosen outlier quad
  std::vector<float> qhat;            // [rows * n], dequantized values (BF16 outlier, 0 victims)
  std::vector<float> err;             // [rows * n], scaled errors (w - qhat) / U[j, j]
  std::vector<std::int16_t> outlier;  // [rows], column in the block or -1
  std::vector<Bf16> outlier_value;    // [rows]
  std::vector<double> loss;           // [rows], sum of squared scaled errors of the chosen candidate

  void resize(int rows, int n);
};

// Searches rows [r0, r1) of `in` into `out` (sized by resize); rows are independent, so callers
// run disjoint ranges in parallel.
void oa_search_rows(const OaBlockInput& in, int r0, int r1, OaBlockOutput& out);
// Whether OaSearchKernel::Auto runs eight rows at a time here (AVX-512 F and DQ).
bool oa_search_vector_kernel_available();

// Hessian-aware range truncation (A.4) of one row of a block: at most one value dropped from each
// end. `d` are the U diagonal entries of the row's columns. Writes xmin, xmax into range[0..1].
void minmax_truncate(const float* w, const double* d, int n, int bits, float* range);

// The code of value x on grid p with offset o, in fp64 (clamp(round(x / s + z + o)); with offsets in
// the cell the clamp range moves by o).
int code_of(double x, const GridParams& p, int offset, const GridSpec& grid);

}  // namespace oacim::quant
