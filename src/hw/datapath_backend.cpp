#include "oacim/hw/datapath_backend.hpp"

#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/reference_datapath.hpp"

namespace oacim::hw {

namespace {

class ReferenceBackend : public DatapathBackend {
 public:
  std::string name() const override { return "reference"; }
  std::vector<HwLayerResult> run(const HwConfig& cfg, const std::vector<DatapathCase>& cases) const override {
    std::vector<HwLayerResult> out;
    for (const DatapathCase& c : cases) {
      out.push_back(reference_forward(prepare_layer_weights(*c.weights, cfg), cfg, c.x.data(), c.tokens));
    }
    return out;
  }
};

class FastBackend : public DatapathBackend {
 public:
  FastBackend(FastKernel kernel, int threads) : kernel_(kernel), threads_(threads) {}
  std::string name() const override { return "fast/" + to_string(kernel_) + "/t" + std::to_string(threads_); }
  std::vector<HwLayerResult> run(const HwConfig& cfg, const std::vector<DatapathCase>& cases) const override {
    std::vector<HwLayerResult> out;
    for (const DatapathCase& c : cases) {
      const FastDatapath fast(prepare_layer_weights(*c.weights, cfg), cfg, kernel_);
      out.push_back(fast.forward(c.x.data(), c.tokens, threads_));
    }
    return out;
  }

 private:
  FastKernel kernel_;
  int threads_;
};

}  // namespace

std::vector<std::unique_ptr<DatapathBackend>> hw_backends() {
  std::vector<std::unique_ptr<DatapathBackend>> out;
  out.push_back(std::make_unique<ReferenceBackend>());
  for (FastKernel k : {FastKernel::Avx512Vnni, FastKernel::Avx512, FastKernel::Avx2, FastKernel::Generic}) {
    if (!FastDatapath::kernel_supported(k)) continue;
    for (int threads : {1, 3}) out.push_back(std::make_unique<FastBackend>(k, threads));
  }
  return out;
}

}  // namespace oacim::hw
