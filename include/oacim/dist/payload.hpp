#pragma once
// Byte strings of plain values for the messages of communicator.hpp: a vector of a trivially
// copyable type in this machine's byte order (every rank of a job runs the same binary on the
// same architecture), read back with its length checked. No torch.
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "oacim/core/error.hpp"

namespace oacim::dist {

template <typename T>
std::string to_bytes(const std::vector<T>& values) {
  static_assert(std::is_trivially_copyable_v<T>, "plain values only");
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

template <typename T>
std::vector<T> from_bytes(const std::string& bytes, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>, "plain values only");
  if (bytes.size() % sizeof(T) != 0) {
    throw Error(std::string("message '") + what + "': " + std::to_string(bytes.size()) + " bytes are not whole values");
  }
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// A list of byte strings as one (length-prefixed), and back.
std::string join_parts(const std::vector<std::string>& parts);
std::vector<std::string> split_parts(const std::string& bytes, const char* what);

}  // namespace oacim::dist
