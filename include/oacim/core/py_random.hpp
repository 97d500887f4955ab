#pragma once
// CPython's `random` module, bit for bit (docs/algorithms.md E.3): MT19937 seeded by init_by_array with
// the 32-bit words of a non-negative integer seed, randint() by rejection sampling on the top bits,
// random() from two draws. The GPTQ/SpQR/OA loaders draw calibration windows and C4 documents with
// it, so matching it reproduces their sample identity.
#include <array>
#include <cstdint>

namespace oacim {

class PyRandom {
 public:
  explicit PyRandom(std::uint64_t seed);

  std::uint32_t genrand_uint32();
  // Uniform integer in [a, b]; b - a + 1 must be below 2^32 (throws InvalidArgument otherwise).
  std::int64_t randint(std::int64_t a, std::int64_t b);
  // random.random(): a double in [0, 1) with 53 random bits.
  double random();

 private:
  void init_genrand(std::uint32_t s);
  std::uint32_t randbelow(std::uint64_t n);

  std::array<std::uint32_t, 624> mt_{};
  int index_ = 625;
};

}  // namespace oacim
