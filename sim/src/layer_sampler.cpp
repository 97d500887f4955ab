#include "oacim/sim/layer_sampler.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/layer_weights.hpp"
#include "oacim/sim/cosim.hpp"

namespace oacim::sim {

LayerSampler::LayerSampler(hw::HwConfig config, std::vector<std::string> layers, int tokens)
    : config_(std::move(config)), layers_(std::move(layers)), tokens_(tokens) {
  if (tokens < 1) throw InvalidArgument("systemc_tokens", fmt::format("{} is not a positive count", tokens));
}

bool LayerSampler::wants(const std::string& layer) const {
  if (!layers_.empty() && std::find(layers_.begin(), layers_.end(), layer) == layers_.end()) return false;
  const auto it = std::find_if(samples_.begin(), samples_.end(), [&](const Sample& s) { return s.layer == layer; });
  return it == samples_.end() || it->tokens < tokens_;
}

void LayerSampler::record(const std::string& layer, std::shared_ptr<const PackedCimWeights> weights, const float* x, int n) {
  if (!wants(layer) || n <= 0) return;
  auto it = std::find_if(samples_.begin(), samples_.end(), [&](const Sample& s) { return s.layer == layer; });
  if (it == samples_.end()) {
    samples_.push_back(Sample{layer, std::move(weights), {}, 0});
    it = samples_.end() - 1;
  }
  const int take = std::min(n, tokens_ - it->tokens);
  const int cols = it->weights->cols();
  it->x.insert(it->x.end(), x, x + static_cast<std::ptrdiff_t>(take) * cols);
  it->tokens += take;
}

std::vector<std::string> LayerSampler::missing() const {
  std::vector<std::string> out;
  for (const std::string& l : layers_) {
    if (std::none_of(samples_.begin(), samples_.end(), [&](const Sample& s) { return s.layer == l; })) out.push_back(l);
  }
  return out;
}

std::vector<SampledLayerCheck> LayerSampler::run() const {
  std::vector<CosimCase> cases;
  for (const Sample& s : samples_) cases.push_back(CosimCase{s.weights.get(), s.x, s.tokens});
  const std::vector<CosimResult> results = run_cosim(config_, cases);
  std::vector<SampledLayerCheck> out;
  for (std::size_t i = 0; i < samples_.size(); ++i) {
    const Sample& s = samples_[i];
    const CosimResult& r = results.at(i);
    SampledLayerCheck c;
    c.layer = s.layer;
    c.rows = s.weights->rows();
    c.cols = s.weights->cols();
    c.tokens = s.tokens;
    c.ok = r.ok;
    c.error = r.error;
    if (r.ok) {
      const hw::FastDatapath fast(hw::prepare_layer_weights(*s.weights, config_), config_);
      const hw::HwLayerResult h = fast.forward(s.x.data(), s.tokens);
      c.comparison = compare_outputs(r.y, r.counters, h.y, h.counters, config_.output_format);
    }
    c.load_cycles = r.load_cycles;
    c.compute_cycles = r.compute_cycles;
    c.readback_cycles = r.readback_cycles;
    c.simulated_ns = r.simulated_ns;
    c.wall_seconds = r.wall_seconds;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace oacim::sim
