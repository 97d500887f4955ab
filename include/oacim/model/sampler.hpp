#pragma once
// Token samplers with a seeded generator, reproducible across runs and machines:
//   Llama2cSampler  llama2.c's run.c sampler bit for bit (xorshift* RNG, temperature, top-p with
//                   its cutoff pre-filter and stable descending sort); temperature 0 = argmax
//   TopKSampler     the k most likely tokens, renormalised, drawn with the same RNG
// Both take fp32 logits of one position. No torch.
#include <cstdint>
#include <vector>

namespace oacim::model {

// llama2.c's xorshift* generator.
class XorShiftRng {
 public:
  explicit XorShiftRng(std::uint64_t seed) : state_(seed) {}
  std::uint32_t next_u32();
  float next_f32();  // [0, 1) with 24 random bits

 private:
  std::uint64_t state_;
};

class Llama2cSampler {
 public:
  Llama2cSampler(float temperature, float topp, std::uint64_t seed);
  int sample(std::vector<float> logits);

 private:
  float temperature_;
  float topp_;
  XorShiftRng rng_;
};

class TopKSampler {
 public:
  TopKSampler(int k, float temperature, std::uint64_t seed);
  int sample(const std::vector<float>& logits);

 private:
  int k_;
  float temperature_;
  XorShiftRng rng_;
};

}  // namespace oacim::model
