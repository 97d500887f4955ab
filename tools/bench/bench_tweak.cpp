// Norm tweaking time per block as a ratio to the same block's GPTQ time, both measured in this
// process on the same calibration samples: GPTQ = the sequential driver's work per block
// (forward passes observed into Hessians, then GPTQ on each Linear); tweak = float targets, one
// Adam step per sample through the quantized block, and the recomputed next inputs.
// Models: the bundled stories260K (5 blocks, dim 64) and a randomly initialised OPT-125M-shaped
// model (dim 768, 12 heads, ffn 3072; 2 blocks to keep the run short).
// Usage: bench_tweak [--samples 16] [--seqlen 512] [--threads 2]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "oacim/core/rng.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/quant/sequential_quantizer.hpp"
#include "oacim/tweak/norm_tweaker.hpp"

#include "bench_baseline.hpp"

namespace {

void run(const std::string& name, oacim::model::Decoder& m, int samples, int seqlen) {
  oacim::Rng rng(1);
  std::vector<std::vector<int>> windows;
  for (int s = 0; s < samples; ++s) {
    std::vector<int> w;
    for (int t = 0; t < seqlen; ++t) w.push_back(static_cast<int>(rng.next_u64() % static_cast<std::uint64_t>(m.vocab_size())));
    windows.push_back(w);
  }
  oacim::quant::SequentialOptions so;
  so.layer.method = oacim::quant::Method::Gptq;
  const auto t0 = std::chrono::steady_clock::now();
  oacim::quant::quantize_model(m, windows, so);
  const double gptq = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / m.num_blocks();
  oacim::tweak::NormTweakOptions nt;
  nt.lr = 1e-4;
  double tweak = 0.0;
  for (const auto& b : oacim::tweak::tweak_norms(m, windows, nt)) tweak += b.seconds;
  tweak /= m.num_blocks();
  std::printf("%-22s %7d %7d %12.3f %12.3f %12.2f\n", name.c_str(), samples, seqlen, gptq, tweak, tweak / gptq);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 16, seqlen = 512, threads = 2;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--samples") == 0) samples = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--seqlen") == 0) seqlen = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[++i]);
  }
  at::set_num_threads(threads);
  oacim::bench::prepare_blas_baseline(argv, "bench_tweak");
  std::printf("%-22s %7s %7s %12s %12s %12s\n", "model", "samples", "seqlen", "gptq s/blk", "tweak s/blk", "tweak/gptq");
  oacim::model::LoadedModel stories = oacim::model::load_model(std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin");
  run("stories260K", *stories.decoder, samples, seqlen);
  const auto opt = oacim::model::GptSpec::shape(oacim::model::GptSpec::Family::Opt, 768, 2, 12, 3072, 2048, 2048);
  oacim::model::GptModel m = oacim::model::GptModel::random(opt, 0);
  run("OPT-125M shape (2 blk)", m, samples, seqlen);
  return 0;
}
