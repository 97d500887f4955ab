#pragma once
// FNV-1a, 64 bits: a stable, dependency-free fingerprint of bytes (cache keys of sweep tasks,
// output digests in co-simulation logs). Not cryptographic.
#include <cstddef>
#include <cstdint>
#include <string>

namespace oacim {

inline constexpr std::uint64_t kFnv1aBasis = 1469598103934665603ull;

inline std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h = kFnv1aBasis) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

inline std::uint64_t fnv1a64(const std::string& s, std::uint64_t h = kFnv1aBasis) {
  return fnv1a64(s.data(), s.size(), h);
}

}  // namespace oacim
