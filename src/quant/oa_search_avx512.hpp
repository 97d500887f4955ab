#pragma once
// The OA block search of oa_block_search.hpp, eight rows at a time in AVX-512 fp64 lanes: the
// same operations per row in the same order (no FMA contraction), so the same codes, values,
// errors, losses and outliers bit for bit (OaBlockSearch.VectorKernelGivesTheRowByRowBits).
// A candidate stops once none of its eight rows can beat its bound.
#include "oacim/quant/oa_block_search.hpp"

namespace oacim::quant {

// Searches rows [r0, r1) in groups of eight; returns the first row it left (fewer than eight
// remain from there).
int oa_search_rows_avx512(const OaBlockInput& in, int r0, int r1, OaBlockOutput& out);

}  // namespace oacim::quant
