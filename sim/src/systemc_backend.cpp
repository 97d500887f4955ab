#include "oacim/sim/systemc_backend.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/sim/cosim.hpp"

namespace oacim::sim {

namespace {

class SystemcBackend : public hw::DatapathBackend {
 public:
  std::string name() const override { return "systemc"; }
  std::vector<hw::HwLayerResult> run(const hw::HwConfig& cfg, const std::vector<hw::DatapathCase>& cases) const override {
    std::vector<CosimCase> cosim;
    for (const hw::DatapathCase& c : cases) cosim.push_back({c.weights, c.x, c.tokens});
    const std::vector<CosimResult> results = run_cosim(cfg, cosim);
    std::vector<hw::HwLayerResult> out;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok) throw InvalidArgument("layer", fmt::format("case {}: the chip rejected it: {}", i, results[i].error));
      out.push_back({results[i].y, results[i].counters});
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<hw::DatapathBackend> systemc_backend() { return std::make_unique<SystemcBackend>(); }

}  // namespace oacim::sim
