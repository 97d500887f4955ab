// The macro's bit-plane pass: every kernel (AVX-512 vector popcounts, popcnt, portable) against
// tree sums counted cell by cell, for every slice count, sign, word count and column tail.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "oacim/core/rng.hpp"
#include "oacim/sim/plane_pass.hpp"

namespace oacim::sim {
namespace {

struct Pass {
  std::vector<std::uint64_t> masked, x;
  PlanePass args;
};

Pass random_pass(Rng& rng, int planes, bool negative, int words, int cols, int segs, int bitplanes, bool fold) {
  Pass p;
  p.masked.resize(static_cast<std::size_t>(planes) * segs * words * cols);
  for (auto& m : p.masked) m = rng.next_u64() & rng.next_u64();  // about a quarter of the cells set
  p.x.resize(static_cast<std::size_t>(bitplanes) * words);
  for (auto& v : p.x) v = rng.next_u64();
  p.args = {p.masked.data(), p.x.data(), bitplanes, cols, segs, planes, words, negative, fold};
  return p;
}

// Row by row: cell bit k of row r meets input bit p of row r.
std::int64_t reference(const PlanePass& a, std::vector<std::int64_t>& out) {
  std::int64_t activations = 0;
  const auto bit = [](std::uint64_t word, int b) { return static_cast<std::int64_t>((word >> b) & 1u); };
  out.assign(static_cast<std::size_t>(a.fold ? 1 : a.bitplanes) * a.segs * a.cols, 0);
  for (int s = 0; s < a.segs; ++s) {
    for (int j = 0; j < a.cols; ++j) {
      std::int64_t acc = 0;
      for (int p = a.bitplanes - 1; p >= 0; --p) {
        std::int64_t sum = 0;
        for (int k = 0; k < a.planes; ++k) {
          const bool sign = a.negative && k == a.planes - 1;
          for (int w = 0; w < a.words; ++w) {
            const std::uint64_t cells = a.masked[((static_cast<std::size_t>(k) * a.segs + s) * a.words + w) * a.cols + j];
            for (int b = 0; b < 64; ++b) {
              const std::int64_t hit = bit(cells, b) * bit(a.x[static_cast<std::size_t>(p) * a.words + w], b);
              sum += (sign ? -1 : 1) * hit * (std::int64_t{1} << k);
              activations += hit * (sign ? 5 - a.planes : 1);
            }
          }
        }
        if (a.fold) {
          acc = p == a.bitplanes - 1 ? -sum : 2 * acc + sum;
        } else {
          out[(static_cast<std::size_t>(p) * a.segs + s) * a.cols + j] = sum;
        }
      }
      if (a.fold) out[static_cast<std::size_t>(s) * a.cols + j] = acc;
    }
  }
  return activations;
}

TEST(PlanePass, EveryKernelGivesTheCellByCellSums) {
  Rng rng(2026);
  const PlanePassKernel kernels[] = {PlanePassKernel::Auto, PlanePassKernel::Avx512, PlanePassKernel::Popcnt,
                                     PlanePassKernel::Portable};
  int compared = 0;
  for (int planes = 1; planes <= 4; ++planes) {
    for (const bool negative : {false, true}) {
      for (const int words : {1, 2}) {
        for (const int cols : {64, 24, 5}) {
          for (const bool fold : {true, false}) {
            const int segs = 1 + static_cast<int>(rng.uniform() * 2);
            const int bitplanes = rng.uniform() < 0.7 ? 9 : 5;
            const Pass p = random_pass(rng, planes, negative, words, cols, segs, bitplanes, fold);
            std::vector<std::int64_t> want;
            const std::int64_t want_act = reference(p.args, want);
            for (const PlanePassKernel kernel : kernels) {
              if (!plane_pass_kernel_available(kernel)) continue;
              std::vector<std::int64_t> got(static_cast<std::size_t>(bitplanes) * segs * cols, -77);
              const std::int64_t act = run_plane_pass(p.args, got.data(), kernel);
              got.resize(want.size());
              const std::string what = std::string(plane_pass_kernel_name(kernel)) + " planes " +
                                       std::to_string(planes) + (negative ? " negative" : "") + " words " +
                                       std::to_string(words) + " cols " + std::to_string(cols) +
                                       (fold ? " folded" : " per plane");
              EXPECT_EQ(got, want) << what;
              EXPECT_EQ(act, want_act) << what;
              ++compared;
            }
          }
        }
      }
    }
  }
  EXPECT_GE(compared, 4 * 2 * 2 * 3 * 2 * 2);  // at least Auto and Portable everywhere
}

TEST(PlanePass, AKernelThisCpuCannotRunIsRefused) {
  Rng rng(1);
  const Pass p = random_pass(rng, 4, true, 1, 64, 2, 9, true);
  std::vector<std::int64_t> out(9 * 2 * 64);
  for (const PlanePassKernel kernel : {PlanePassKernel::Avx512, PlanePassKernel::Popcnt}) {
    if (plane_pass_kernel_available(kernel)) {
      EXPECT_NO_THROW(run_plane_pass(p.args, out.data(), kernel));
    } else {
      EXPECT_THROW(run_plane_pass(p.args, out.data(), kernel), std::invalid_argument);
    }
  }
  EXPECT_TRUE(plane_pass_kernel_available(PlanePassKernel::Portable));
}

}  // namespace
}  // namespace oacim::sim
