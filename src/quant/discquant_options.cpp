#include "oacim/quant/discquant_options.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::quant {

void DiscQuantOptions::validate() const {
  if (steps < 1) throw InvalidArgument("dq_steps", fmt::format("{} must be >= 1", steps));
  if (warmup < 0 || warmup >= steps) throw InvalidArgument("dq_warmup", fmt::format("{} must be in [0, steps)", warmup));
  if (!(lr > 0)) throw InvalidArgument("dq_lr", "must be positive");
  if (!(clamp > 0)) throw InvalidArgument("dq_clamp", "must be positive");
  if (!(rho > 0)) throw InvalidArgument("dq_rho", "must be positive");
  if (!(weight_decay >= 0)) throw InvalidArgument("dq_weight_decay", "must not be negative");
  if (windows_per_step < 1) throw InvalidArgument("dq_windows_per_step", "must be >= 1");
  if (init != "rand" && init != "orig") throw InvalidArgument("dq_init", fmt::format("'{}' is not rand or orig", init));
  if (blocks_at_once < 0) throw InvalidArgument("dq_blocks_at_once", "must not be negative");
  if (log_every < 1) throw InvalidArgument("dq_log_every", "must be >= 1");
  if (checkpoint_every < 1) throw InvalidArgument("dq_checkpoint_every", "must be >= 1");
  if (stop_after < 0) throw InvalidArgument("dq_stop_after", "must not be negative");
}

double discquant_lr(const DiscQuantOptions& o, int step) {
  if (step < o.warmup) return o.lr * static_cast<double>(step) / std::max(1, o.warmup);
  const double progress = static_cast<double>(step - o.warmup) / std::max(1, o.steps - o.warmup);
  return o.lr * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
}

}  // namespace oacim::quant
