#pragma once
// One job's bit-plane passes over a macro tile held as bit-slices: for every (block segment,
// column) and broadcast input plane p, the column adder tree's sum
//   sum_k +-2^k popcount(cells_k,s[j] & x_p)
// (cell bit k of the segment's ungated rows, the top bit negative in a two's-complement tile),
// word-wide AND and popcount instead of per-cell loops. Integers throughout; every kernel gives
// the same values (tests/sim/test_plane_pass.cpp checks them against per-cell sums).
#include <cstdint>

namespace oacim::sim {

struct PlanePass {
  const std::uint64_t* masked;  // [planes][segs][words][cols] slice k & segment s's ungated rows
  const std::uint64_t* x;       // [bitplanes][words] bit p of every row's aligned input
  int bitplanes;                // input planes; plane bitplanes - 1 is the sign plane
  int cols;                     // columns (those past the tile's hold no cells and sum to 0)
  int segs;                     // block segments
  int planes;                   // cell-bit slices used (1..4)
  int words;                    // 64-row words per column
  bool negative;                // slice planes - 1 weighs -2^(planes-1)
  bool fold;                    // shift-accumulate the planes on the spot (no register can clip)
};

// Which implementation runs the pass: the widest this CPU runs (Auto), or one forced (tests).
enum class PlanePassKernel { Auto, Avx512, Popcnt, Portable };

bool plane_pass_kernel_available(PlanePassKernel kernel);
// The kernel's name ("avx512-vpopcntdq", "popcnt", "portable"); Auto names the one it picks.
const char* plane_pass_kernel_name(PlanePassKernel kernel);

// With `fold`, out[s * cols + j] receives the shift-accumulator after every plane, sign plane
// first (acc = -sum, then acc = 2 acc + sum); otherwise out[(p * segs + s) * cols + j] receives
// plane p's sum, for a replay that checks the registers. Returns the cell activations: stored `1`
// bits meeting an input `1`, a negative tile's top slice counting the sign bits above it in the
// 4-bit cell (5 - planes each). Throws std::invalid_argument for a kernel this CPU cannot run.
std::int64_t run_plane_pass(const PlanePass& pass, std::int64_t* out, PlanePassKernel kernel = PlanePassKernel::Auto);

}  // namespace oacim::sim
