#include "oacim/quant/layer_quant_stats.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"

namespace oacim::quant {

nlohmann::json to_json(const LayerQuantStats& s, bool has_hessian) {
  return {{"layer", s.layer},
          {"rows", s.rows},
          {"cols", s.cols},
          {"weight_mse", s.weight_mse},
          {"weight_rel_error", s.weight_rel_error},
          {"output_error", has_hessian ? nlohmann::json(s.output_error) : nlohmann::json()},
          {"gptq_loss", s.gptq_loss},
          {"outliers", s.outliers},
          {"outlier_share", s.outlier_share},
          {"ones_before_offsets", s.ones_before_offsets},
          {"ones", s.ones},
          {"stored_bits", s.stored_bits},
          {"bits_per_weight", s.bits_per_weight},
          {"dead_columns", s.dead_columns},
          {"seconds", s.seconds}};
}

LayerQuantStats layer_stats_from_json(const nlohmann::json& j, const std::string& source) {
  LayerQuantStats s;
  try {
    s.layer = j.at("layer").get<std::string>();
    s.rows = j.at("rows").get<int>();
    s.cols = j.at("cols").get<int>();
    s.weight_mse = j.at("weight_mse").get<double>();
    s.weight_rel_error = j.at("weight_rel_error").get<double>();
    s.output_error = j.at("output_error").is_null() ? 0.0 : j.at("output_error").get<double>();
    s.gptq_loss = j.at("gptq_loss").get<double>();
    s.outliers = j.at("outliers").get<std::int64_t>();
    s.outlier_share = j.at("outlier_share").get<double>();
    s.ones_before_offsets = j.at("ones_before_offsets").get<std::int64_t>();
    s.ones = j.at("ones").get<std::int64_t>();
    s.stored_bits = j.at("stored_bits").get<std::int64_t>();
    s.bits_per_weight = j.at("bits_per_weight").get<double>();
    s.dead_columns = j.at("dead_columns").get<std::int64_t>();
    s.seconds = j.at("seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(source, fmt::format("layer statistics: {}", e.what()));
  }
  return s;
}

}  // namespace oacim::quant
