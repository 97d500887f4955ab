#pragma once
// A finished sweep point as JSON: its settings, the quantizer's per-layer numbers, perplexity per
// dataset and backend, hardware counters, the co-simulation check, and one verdict per sign-off
// threshold (pass | fail | n/a, with the measured value and the limit). Read from the task outputs
// in DIR/cache; written to DIR/points/<id>.json by the runner. No torch.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oacim/sweep/task_plan.hpp"

namespace oacim::sweep {

// `failed_task_reason` is "" when every task of the point finished; otherwise the point is an
// error point with that reason and no verdicts.
nlohmann::json point_result(const Plan& plan, const PointPlan& point, const std::string& failed_task_reason);

// The threshold verdicts of a point (its "datasets", "hw" and "systemc" members filled in).
nlohmann::json point_verdicts(const nlohmann::json& point, const SweepPoint& settings);

}  // namespace oacim::sweep
