#pragma once
// "Did you mean ...?" for unknown keys in config files: the candidate with the smallest edit
// (Levenshtein) distance below a limit. No torch.
#include <cstddef>
#include <string>
#include <vector>

namespace oacim {

std::size_t edit_distance(const std::string& a, const std::string& b);
// The closest candidate at distance < max_distance, or "" when none is that close.
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates, std::size_t max_distance = 4);

}  // namespace oacim
