#include "oacim/core/py_random.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim {

void PyRandom::init_genrand(std::uint32_t s) {
  mt_[0] = s;
  for (std::uint32_t i = 1; i < 624; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + i;
  index_ = 624;
}

PyRandom::PyRandom(std::uint64_t seed) {
  // random.seed(int): the key is the seed's little-endian 32-bit words (0 gives the key [0]).
  std::vector<std::uint32_t> key;
  do {
    key.push_back(static_cast<std::uint32_t>(seed & 0xFFFFFFFFu));
    seed >>= 32;
  } while (seed != 0);
  init_genrand(19650218u);
  std::size_t i = 1;
  std::size_t j = 0;
  for (std::size_t k = std::max<std::size_t>(624, key.size()); k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<std::uint32_t>(j);
    ++i;
    ++j;
    if (i >= 624) {
      mt_[0] = mt_[623];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (std::size_t k = 623; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<std::uint32_t>(i);
    ++i;
    if (i >= 624) {
      mt_[0] = mt_[623];
      i = 1;
    }
  }
  mt_[0] = 0x80000000u;
  index_ = 624;
}

std::uint32_t PyRandom::genrand_uint32() {
  if (index_ >= 624) {
    for (int k = 0; k < 624; ++k) {
      const std::uint32_t y = (mt_[static_cast<std::size_t>(k)] & 0x80000000u) |
                              (mt_[static_cast<std::size_t>((k + 1) % 624)] & 0x7FFFFFFFu);
      mt_[static_cast<std::size_t>(k)] =
          mt_[static_cast<std::size_t>((k + 397) % 624)] ^ (y >> 1) ^ ((y & 1u) ? 0x9908B0DFu : 0u);
    }
    index_ = 0;
  }
  std::uint32_t y = mt_[static_cast<std::size_t>(index_++)];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9D2C5680u;
  y ^= (y << 15) & 0xEFC60000u;
  y ^= y >> 18;
  return y;
}

std::uint32_t PyRandom::randbelow(std::uint64_t n) {
  int bits = 0;
  while ((n >> bits) != 0) ++bits;  // n.bit_length()
  std::uint32_t r = genrand_uint32() >> (32 - bits);
  while (r >= n) r = genrand_uint32() >> (32 - bits);
  return r;
}

std::int64_t PyRandom::randint(std::int64_t a, std::int64_t b) {
  if (b < a || static_cast<std::uint64_t>(b - a) >= 0xFFFFFFFFull) {
    throw InvalidArgument("randint", fmt::format("range [{}, {}] is empty or not below 2^32 values", a, b));
  }
  return a + static_cast<std::int64_t>(randbelow(static_cast<std::uint64_t>(b - a) + 1));
}

double PyRandom::random() {
  const std::uint32_t a = genrand_uint32() >> 5;
  const std::uint32_t b = genrand_uint32() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

}  // namespace oacim
