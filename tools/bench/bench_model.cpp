// Forward throughput of the LLaMA decoder (fp32, float backend) in tokens/s, and the fraction of
// the machine's fp32 matmul rate (measured in the same run, at::matmul 1024^3) that the forward
// pass reaches, counting 2 FLOPs per weight per token plus attention. Models: the bundled
// stories260K (window 256) and a randomly initialised 125M-parameter shape with OPT-125m's sizes
// (dim 768, 12 layers, 12 heads, FFN 3072, vocab 50272; LLaMA blocks until the OPT decoder lands),
// window 512. Usage: bench_model [THREADS]
#include <algorithm>
#include <functional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

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

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  at::set_num_threads(threads);
  const at::Tensor a = at::randn({1024, 1024}), b = at::randn({1024, 1024});
  at::matmul(a, b);
  const double mm = 2.0 * 1024 * 1024 * 1024 / seconds_of([&] { at::matmul(a, b); }, 20);
  std::printf("bench_model: %d threads, fp32 matmul 1024^3: %.1f GFLOP/s\n", threads, mm / 1e9);
  std::printf("%-34s %8s %12s %12s %14s\n", "model", "tokens", "tokens/s", "GFLOP/s", "x matmul rate");
  const std::string bin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";
  struct Case {
    std::string name;
    oacim::model::LlamaModel model;
    int tokens;
  };
  std::vector<Case> cases;
  cases.push_back({"stories260K (bundled)", oacim::model::LlamaModel::from_llama2c(oacim::model::load_llama2c(bin)), 256});
  oacim::model::LlamaSpec opt125m{768, 3072, 12, 12, 12, 50272, 2048, 1e-5f, 10000.0f, true};
  cases.push_back({"random 125M (OPT-125m sizes)", oacim::model::LlamaModel::random(opt125m, 0), 512});
  for (const Case& c : cases) {
    std::vector<int> ids(static_cast<std::size_t>(c.tokens));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>((i * 7919) % static_cast<std::size_t>(c.model.spec().vocab_size));
    c.model.forward(ids, oacim::model::Backend::Float);
    const double s = seconds_of([&] { c.model.forward(ids, oacim::model::Backend::Float); }, 5);
    const double flops = forward_flops(c.model.spec(), c.tokens) / s;
    std::printf("%-34s %8d %12.0f %12.1f %14.2f\n", c.name.c_str(), c.tokens, c.tokens / s, flops / 1e9, flops / mm);
  }
  return 0;
}
