#pragma once
// `oacim compare DIR_A DIR_B`: what changed between two runs (the regression view for CI). Points
// are matched by their settings id (then by label); for each matched point it lists perplexity
// changes per dataset and backend, verdict changes, and the points only one run has. A change is
// a regression when a verdict gets worse or a perplexity rises by more than `tolerance_pct`. No torch.
#include <string>

#include <nlohmann/json.hpp>

namespace oacim::report {

struct Comparison {
  std::string markdown;
  int matched = 0;
  int changed = 0;      // rows in the changes table
  int regressions = 0;
};

Comparison compare_results(const nlohmann::json& a, const nlohmann::json& b, double tolerance_pct,
                           const std::string& name_a, const std::string& name_b);

}  // namespace oacim::report
