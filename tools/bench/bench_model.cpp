// Forward throughput of the LLaMA decoder (fp32, float backend) in tokens/s, and the fraction of
// the machine's fp32 matmul rate (measured in the same run, at::matmul 1024^3) that the forward
// pass reaches, counting 2 FLOPs per weight per token plus attention. Models: the bundled
// stories260K (LLaMA, window 256) and a randomly initialised OPT-125m (dim 768, 12 layers, 12
// heads, FFN 3072, vocab 50272, the OPT decoder), window 512. Then the same OPT-125m with its
// block Linears RTN-quantized (outliers, offsets) on the bit-accurate datapath (default hw config),
// timed alternately with the float backend: x_float is the ratio of the medians (issue 21 target:
// at most 1.15). Usage: bench_model [THREADS]
#include <algorithm>
#include <functional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "bench_baseline.hpp"

#include "oacim/core/rtn_packer.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/llama_model.hpp"

namespace {

double seconds_of(const std::function<void()>& f, int repeats) {
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double forward_flops(const oacim::model::LlamaSpec& s, int T) {
  const double D = s.dim, H = s.hidden_dim, KV = static_cast<double>(s.n_kv_heads) * s.head_size();
  const double per_layer = 2.0 * T * (D * D * 2 + D * KV * 2 + 3 * D * H) + 4.0 * T * T * D;  // linears + attention
  return s.n_layers * per_layer + 2.0 * T * D * s.vocab_size;
}

// The whole decoder on the datapath against the float backend, alternately, in this process.
void hw_against_float(oacim::model::Decoder& model, int tokens, int vocab) {
  const auto t_pack = std::chrono::steady_clock::now();
  oacim::RtnPackOptions rtn;
  rtn.outliers = true;
  rtn.offsets = true;
  static const oacim::hw::HwConfig cfg = oacim::hw::default_hw_config();
  std::string kernel;
  model.classifier()->set_float_fallback(true);  // kept fp32, as eval does
  for (int l = 0; l < model.num_blocks(); ++l) {
    for (oacim::model::QuantLinear* lin : model.block_linears(l)) {
      const at::Tensor& w = lin->weight();
      const std::vector<float> wv(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
      lin->set_packed(std::make_shared<const oacim::PackedCimWeights>(
                          oacim::pack_rtn(wv, lin->out_features(), lin->in_features(), rtn, nullptr)),
                      &cfg);
      kernel = oacim::hw::to_string(lin->datapath()->kernel());
    }
  }
  std::printf("RTN packing of the block Linears (outliers, offsets): %.1f s; datapath kernel %s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_pack).count(), kernel.c_str());
  std::vector<int> ids(static_cast<std::size_t>(tokens));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>((i * 7919) % static_cast<std::size_t>(vocab));
  model.forward(ids, oacim::model::Backend::Float);  // warm-up of both
  model.forward(ids, oacim::model::Backend::Hw);
  std::vector<double> fl, hw;
  for (int r = 0; r < 5; ++r) {
    fl.push_back(seconds_of([&] { model.forward(ids, oacim::model::Backend::Float); }, 1));
    hw.push_back(seconds_of([&] { model.forward(ids, oacim::model::Backend::Hw); }, 1));
  }
  std::sort(fl.begin(), fl.end());
  std::sort(hw.begin(), hw.end());
  const double f = fl[fl.size() / 2], h = hw[hw.size() / 2];
  std::printf("%-34s %8d %12.0f tokens/s float, %.0f tokens/s hw: x_float %.2f\n", "random OPT-125m, hw vs float",
              tokens, tokens / f, tokens / h, h / f);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  at::set_num_threads(threads);
  const double mm = oacim::bench::prepare_blas_baseline(argv, "bench_model") * 1e9;
  std::printf("bench_model: %d threads\n", threads);
  std::printf("%-34s %8s %12s %12s %14s\n", "model", "tokens", "tokens/s", "GFLOP/s", "x matmul rate");
  const std::string bin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";
  auto report = [&](const char* name, int tokens, int vocab, double flops_per_pass,
                    const std::function<void(const std::vector<int>&)>& forward) {
    std::vector<int> ids(static_cast<std::size_t>(tokens));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>((i * 7919) % static_cast<std::size_t>(vocab));
    forward(ids);
    const double s = seconds_of([&] { forward(ids); }, 5);
    const double flops = flops_per_pass / s;
    std::printf("%-34s %8d %12.0f %12.1f %14.2f\n", name, tokens, tokens / s, flops / 1e9, flops / mm);
  };
  const auto stories = oacim::model::LlamaModel::from_llama2c(oacim::model::load_llama2c(bin));
  report("stories260K (bundled LLaMA)", 256, stories.spec().vocab_size, forward_flops(stories.spec(), 256),
         [&](const std::vector<int>& ids) { stories.forward(ids, oacim::model::Backend::Float); });
  const auto opt = oacim::model::GptSpec::shape(oacim::model::GptSpec::Family::Opt, 768, 12, 12, 3072, 50272, 2048);
  auto opt125m = oacim::model::GptModel::random(opt, 0);
  // Same FLOP count as a LLaMA block with a two-matrix MLP: 4 D^2 attention + 2 D F MLP per token.
  const double T = 512, Dd = opt.dim, Ff = opt.ffn_dim;
  const double opt_flops = opt.n_layers * (2.0 * T * (4 * Dd * Dd + 2 * Dd * Ff) + 4.0 * T * T * Dd) + 2.0 * T * Dd * opt.vocab_size;
  report("random OPT-125m", 512, opt.vocab_size, opt_flops,
         [&](const std::vector<int>& ids) { opt125m.forward(ids, oacim::model::Backend::Float); });
  hw_against_float(opt125m, 512, opt.vocab_size);
  return 0;
}
