#pragma once
// What quantizing one Linear did to it: errors, outliers, ones-count and storage. No torch.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace oacim::quant {

struct LayerQuantStats {
  std::string layer;
  int rows = 0;
  int cols = 0;
  double weight_mse = 0.0;       // mean (W - Q)^2
  double weight_rel_error = 0.0; // ||W - Q||_F / ||W||_F
  double output_error = 0.0;     // tr(D H D^T) / tr(W H W^T), D = W - Q, H undamped (0 without H)
  double gptq_loss = 0.0;        // sum of squared scaled errors (w - q)^2 / U_jj^2
  std::int64_t outliers = 0;
  double outlier_share = 0.0;    // outliers / (rows * blocks)
  std::int64_t ones_before_offsets = 0;  // 1 bits of the stored words of the first (offset-free) pass
  std::int64_t ones = 0;                 // 1 bits of the stored words
  std::int64_t stored_bits = 0;          // bits of the stored words (4 per weight)
  double bits_per_weight = 0.0;          // including scales, zeros, second level, offsets, outlier index
  std::int64_t dead_columns = 0;
  double seconds = 0.0;
};

// As JSON (`quantize --json`, per-block checkpoints). output_error is null for RTN (no Hessian).
nlohmann::json to_json(const LayerQuantStats& stats, bool has_hessian);
// Inverse of to_json; throws FormatError(source, ...) for a missing or mistyped field.
LayerQuantStats layer_stats_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace oacim::quant
