#pragma once
// A small deterministic random generator (xoshiro256**, seeded by SplitMix64) with its own normal
// and Student-t transforms, so the same seed gives the same numbers with every compiler and
// standard library (std::normal_distribution is implementation-defined).
#include <cstdint>

namespace oacim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next_u64();
  double uniform();   // [0, 1), 53 random bits
  double normal();    // N(0, 1), Box-Muller
  double student_t(int dof);  // heavy-tailed: normal / sqrt(chi2(dof) / dof)

 private:
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace oacim
