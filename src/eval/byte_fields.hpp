#pragma once
// Length-prefixed vectors in a byte string (the float reference and token statistics sent between
// ranks), and vector appends. Internal to eval.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "oacim/core/error.hpp"

namespace oacim::eval {

template <class T>
void put(std::string& out, const std::vector<T>& v) {
  const std::uint64_t n = v.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

template <class T>
std::vector<T> take(const std::string& in, std::size_t& at) {
  std::uint64_t n = 0;
  if (at + sizeof n > in.size()) throw Error("a message between ranks (evaluation numbers) is cut short");
  std::memcpy(&n, in.data() + at, sizeof n);
  at += sizeof n;
  if (n > (in.size() - at) / sizeof(T)) throw Error("a message between ranks (evaluation numbers) is cut short");
  std::vector<T> v(static_cast<std::size_t>(n));
  std::memcpy(v.data(), in.data() + at, v.size() * sizeof(T));
  at += v.size() * sizeof(T);
  return v;
}

template <class T>
void append_to(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}


}  // namespace oacim::eval
