#pragma once
// The cases every datapath backend runs against the reference (tests/hw/test_backend_ops.cpp,
// tests/sim/test_cosim.cpp): hardware configs (the shipped ones and format, rounding, overflow and
// alignment variants) and, per config, layers that cover the corners (one token, ragged blocks,
// several 32-row panels and 6-token tiles, outliers everywhere, codes at the grid's ends driving
// the registers to overflow, non-finite and all-zero activations, non-integer second-level zeros)
// plus seeded random layers.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "oacim/core/rng.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/hw/datapath_backend.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/number_format.hpp"
#include "random_layers.hpp"

namespace oacim::test {

struct BackendConfig {
  std::string name;
  hw::HwConfig cfg;
};

inline std::vector<BackendConfig> backend_configs(const std::string& source_dir) {
  std::vector<BackendConfig> out;
  for (const char* f : {"oacim-default", "oacim-narrow", "oacim-bf16-psum"}) {
    out.push_back({f, hw::load_hw_config(source_dir + "/configs/hw/" + f + ".yaml")});
  }
  hw::HwConfig fp16 = hw::default_hw_config();
  fp16.input_format = hw::NumFormat::Fp16;
  fp16.mantissa_bits = 11;
  fp16.psum_format = hw::NumFormat::Fp16;
  fp16.scale_format = hw::NumFormat::Fp16;
  fp16.zero_format = hw::NumFormat::Bf16;
  fp16.output_format = hw::NumFormat::Fp32;
  out.push_back({"fp16-psum", fp16});
  hw::HwConfig wrap = hw::default_hw_config();
  wrap.tree_bits = 7;
  wrap.tree_overflow = hw::Overflow::Wrap;
  wrap.acc_bits = 12;
  wrap.acc_overflow = hw::Overflow::Wrap;
  wrap.outlier_format = hw::NumFormat::Bf16;
  out.push_back({"wrap-bf16-outliers", wrap});
  hw::HwConfig nearest = hw::default_hw_config();
  nearest.input_rounding = hw::InputRounding::NearestEven;
  nearest.mantissa_bits = 5;
  nearest.align_group = 64;
  nearest.psum_format = hw::NumFormat::Bf16;
  out.push_back({"nearest-even-group64", nearest});
  for (auto& c : out) c.cfg.name = c.name;
  return out;
}

struct BackendCase {
  std::string name;
  PackedCimWeights weights;
  std::vector<float> x;
  int tokens = 0;
};

// A block size the config can map (at most macro.rows, dividing input.align_group).
inline int mappable_block(const hw::HwConfig& cfg, int want) {
  if (want > cfg.macro_rows || (cfg.align_group != 0 && cfg.align_group % want != 0)) return 32;
  return want;
}

inline std::vector<BackendCase> backend_cases(const hw::HwConfig& cfg, int random_layers, std::uint64_t seed) {
  std::vector<BackendCase> out;
  auto add = [&](std::string name, const RandomLayerSpec& s, int tokens, std::uint64_t sd) {
    out.push_back({std::move(name), random_layer(s, sd), random_activations(tokens, s.cols, sd * 7 + 1), tokens});
  };
  RandomLayerSpec s;
  s.rows = 1;
  s.cols = 4;
  s.block_size = 4;
  add("1x4, one token", s, 1, seed + 1);
  s = RandomLayerSpec();
  s.block_size = mappable_block(cfg, 32);
  s.rows = 33;
  s.cols = 100;  // ragged last block
  add("33x100 ragged, 7 tokens", s, 7, seed + 2);
  s.rows = 70;
  s.cols = 256;
  s.outlier_rate = 1.0;
  add("70x256, an outlier in every row block, 13 tokens", s, 13, seed + 3);
  s.rows = 40;
  s.cols = 128;
  s.outlier_rate = 0.3;
  s.extreme_codes = true;
  s.max_offset = 7;
  add("40x128 extreme codes and offsets", s, 6, seed + 4);
  s.extreme_codes = false;
  s.max_offset = 1;
  s.kind = CodeKind::Unsigned;
  add("40x128 unsigned codes", s, 5, seed + 5);
  s.kind = CodeKind::Signed;
  s.bits = 3;  // tiles of narrow negative codes: the cells' sign-extension bits are activated too
  add("40x128 3-bit signed codes", s, 4, seed + 9);
  s.bits = 2;
  s.max_offset = 0;
  add("40x128 2-bit signed codes", s, 3, seed + 10);
  s.bits = 3;
  s.max_offset = 4;
  s.offsets_in_cell = true;  // cells hold q + o across the whole 4-bit range
  add("40x128 3-bit codes, offsets in the cell", s, 4, seed + 11);
  s.kind = CodeKind::Unsigned;
  add("40x128 3-bit unsigned codes, offsets in the cell", s, 4, seed + 12);
  auto shape = [&](int rows, int cols) {
    RandomLayerSpec t;
    t.rows = rows;
    t.cols = cols;
    t.block_size = mappable_block(cfg, 32);
    return t;
  };
  {
    BackendCase c{"64x96 non-finite activations", random_layer(shape(64, 96), seed + 6), {}, 4};
    c.x = random_activations(c.tokens, 96, seed + 60);
    c.x[3] = std::numeric_limits<float>::quiet_NaN();
    c.x[96 + 40] = std::numeric_limits<float>::infinity();
    c.x[2 * 96 + 70] = -std::numeric_limits<float>::infinity();
    out.push_back(std::move(c));
  }
  out.push_back({"16x64 all-zero activations", random_layer(shape(16, 64), seed + 7), std::vector<float>(3 * 64, 0.0f), 3});
  {
    Rng rng(seed + 8);
    const int rows = 48, cols = 128;
    std::vector<float> w(static_cast<std::size_t>(rows) * cols);
    for (auto& v : w) v = static_cast<float>(0.02 * rng.student_t(4));
    RtnPackOptions o;
    o.grid.block_size = mappable_block(cfg, 32);
    o.outliers = true;
    o.offsets = true;
    o.qq.scale_bits = 4;
    o.qq.zero_bits = 4;
    out.push_back({"48x128 second-level (non-integer) zeros", pack_rtn(w, rows, cols, o, nullptr),
                   random_activations(9, cols, seed + 80), 9});
  }
  for (int i = 0; i < random_layers; ++i) {
    const std::uint64_t sd = seed + 1000 + static_cast<std::uint64_t>(i);
    Rng rng(sd);
    RandomLayerSpec r;
    r.block_size = mappable_block(cfg, rng.uniform() < 0.6 ? 32 : (rng.uniform() < 0.5 ? 16 : 64));
    r.rows = 1 + static_cast<int>(rng.uniform() * 80);
    r.cols = 4 * (1 + static_cast<int>(rng.uniform() * 50));
    r.kind = rng.uniform() < 0.8 ? CodeKind::Signed : CodeKind::Unsigned;
    r.outlier_rate = rng.uniform();
    r.max_offset = rng.uniform() < 0.8 ? 1 : 15;
    r.extreme_codes = rng.uniform() < 0.15;
    add("random " + std::to_string(i), r, 1 + static_cast<int>(rng.uniform() * 14), sd);
  }
  return out;
}

inline std::vector<hw::DatapathCase> datapath_cases(const std::vector<BackendCase>& cases) {
  std::vector<hw::DatapathCase> out;
  for (const auto& c : cases) out.push_back({&c.weights, c.x, c.tokens});
  return out;
}

// "" when `got` equals `want` bit for bit and counter for counter, else the first difference.
inline std::string first_difference(const hw::HwLayerResult& got, const hw::HwLayerResult& want) {
  if (got.y.size() != want.y.size()) return "output size " + std::to_string(got.y.size()) + " vs " + std::to_string(want.y.size());
  for (std::size_t k = 0; k < want.y.size(); ++k) {
    if (hw::bits_of(got.y[k]) != hw::bits_of(want.y[k])) {
      return "output " + std::to_string(k) + ": " + std::to_string(got.y[k]) + " vs reference " + std::to_string(want.y[k]);
    }
  }
  if (!(got.counters == want.counters)) return "counters differ";
  return "";
}

}  // namespace oacim::test
