#pragma once
// Comma-separated option values ("1e-5,1e-4", "3,4,5", "layers.0.wq,layers.1.wq"), parsed once
// for every command: InvalidArgument naming the option for an empty item or a non-number.
#include <string>
#include <vector>

namespace oacim::cli {

std::vector<std::string> split_list(const std::string& text, const std::string& key);
std::vector<double> parse_number_list(const std::string& text, const std::string& key);
std::vector<int> parse_int_list(const std::string& text, const std::string& key);

}  // namespace oacim::cli
