#include "oacim/cli/list_option.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::cli {

std::vector<std::string> split_list(const std::string& text, const std::string& key) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    if (comma == at) throw InvalidArgument(key, fmt::format("'{}' has an empty item", text));
    out.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

namespace {

template <typename T, typename Parse>
std::vector<T> parse_list(const std::string& text, const std::string& key, const char* what, Parse parse) {
  std::vector<T> out;
  for (const std::string& item : split_list(text, key)) {
    std::size_t used = 0;
    T v{};
    try {
      v = parse(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size()) throw InvalidArgument(key, fmt::format("'{}' is not a comma-separated list of {}", text, what));
    out.push_back(v);
  }
  return out;
}

}  // namespace

std::vector<double> parse_number_list(const std::string& text, const std::string& key) {
  return parse_list<double>(text, key, "numbers", [](const std::string& s, std::size_t* used) { return std::stod(s, used); });
}

std::vector<int> parse_int_list(const std::string& text, const std::string& key) {
  return parse_list<int>(text, key, "integers", [](const std::string& s, std::size_t* used) { return std::stoi(s, used); });
}

}  // namespace oacim::cli
