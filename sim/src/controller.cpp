#include "oacim/sim/controller.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "oacim/core/bf16.hpp"
#include "oacim/core/cim_cell.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/quant_grid.hpp"
#include "oacim/hw/input_align.hpp"
#include "oacim/hw/number_format.hpp"
#include "oacim/sim/address_map.hpp"

namespace oacim::sim {

namespace {

template <typename T>
T load(const std::vector<std::uint8_t>& mem, std::size_t index) {
  T v{};
  const std::size_t at = index * sizeof(T);
  if (at + sizeof(T) <= mem.size()) std::memcpy(&v, mem.data() + at, sizeof(T));
  return v;
}

float input_value(const std::vector<std::uint8_t>& act, std::size_t index, hw::NumFormat f) {
  const auto bits = load<std::uint16_t>(act, index);
  return f == hw::NumFormat::Fp16 ? float_from_fp16_bits(bits) : Bf16::from_bits(bits).to_float();
}

}  // namespace

Controller::Controller(sc_core::sc_module_name name, const ControllerParams& params, ChipMemory& mem,
                       CimMacro& macro, PsumAccumulator& psum, sc_core::sc_time period)
    : sc_core::sc_module(name), p_(params), mem_(mem), macro_(macro), psum_(psum), period_(period) {
  SC_HAS_PROCESS(Controller);
  SC_THREAD(run);
}

void Controller::run() {
  while (true) {
    wait(start_);
    mem_.regs[addr::kRegStatus] = 0;
    const sc_core::sc_time t0 = sc_core::sc_time_stamp();
    const bool ok = run_layer();
    const auto cycles = static_cast<std::uint64_t>(std::llround((sc_core::sc_time_stamp() - t0) / period_));
    mem_.regs[addr::kRegCyclesLo] = static_cast<std::uint32_t>(cycles);
    mem_.regs[addr::kRegCyclesHi] = static_cast<std::uint32_t>(cycles >> 32);
    mem_.regs[addr::kRegStatus] = ok ? 1 : 2;
  }
}

bool Controller::run_layer() {
  const hw::HwConfig& cfg = p_.hw;
  const int R = static_cast<int>(mem_.regs[addr::kRegRows]);
  const int C = static_cast<int>(mem_.regs[addr::kRegCols]);
  const int bs = static_cast<int>(mem_.regs[addr::kRegBlockSize]);
  const bool is_signed = mem_.regs[addr::kRegCodeSigned] != 0;
  const int T = static_cast<int>(mem_.regs[addr::kRegTokens]);
  error_.clear();
  if (R <= 0 || C <= 0 || C % 4 != 0 || bs <= 0 || bs % 4 != 0 || T < 0) {
    error_ = "layer registers describe no valid layer";
    return false;
  }
  try {
    hw::check_mapping(cfg, bs, 4);
  } catch (const std::exception& e) {
    error_ = e.what();
    return false;
  }
  const int nb = num_blocks(C, bs);
  const int quads = C / 4;

  // Weight decode: codes from nibbles, the BF16 word of an outlier quad, parameters in their formats.
  std::vector<std::int8_t> codes(static_cast<std::size_t>(R) * C, 0);
  std::vector<int> outlier_col(static_cast<std::size_t>(R) * nb, -1);
  std::vector<float> outlier_w(outlier_col.size(), 0.0f);
  std::int64_t ones = 0;
  std::vector<std::uint8_t> word_ones(static_cast<std::size_t>(R) * quads, 0);  // what a tile rewrite writes
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < nb; ++b) {
      const auto oc = load<std::int16_t>(mem_.mask, static_cast<std::size_t>(r) * nb + b);
      if (oc >= 0) outlier_col[static_cast<std::size_t>(r) * nb + b] = b * bs + oc;
    }
    for (int m = 0; m < quads; ++m) {
      const auto word = load<std::uint16_t>(mem_.words, static_cast<std::size_t>(r) * quads + m);
      ones += popcount16(word);
      word_ones[static_cast<std::size_t>(r) * quads + m] = static_cast<std::uint8_t>(popcount16(word));
      const int b = 4 * m / bs;
      const int oc = outlier_col[static_cast<std::size_t>(r) * nb + b];
      if (oc >= 0 && oc / 4 == m) {
        outlier_w[static_cast<std::size_t>(r) * nb + b] = Bf16::from_bits(word).to_float();
        continue;
      }
      const CodeQuad q = CodeQuad::from_word(word);
      for (int k = 0; k < 4; ++k) {
        codes[static_cast<std::size_t>(r) * C + 4 * m + k] = static_cast<std::int8_t>(q.cell(k).value(is_signed));
      }
    }
  }
  counters_.weight_ones = ones;
  counters_.weight_bits = static_cast<std::int64_t>(R) * quads * 16;

  // Input aligner: every token's groups, once per layer.
  std::vector<std::int32_t> xt(static_cast<std::size_t>(T) * C, 0);
  std::vector<float> x_in(xt.size(), 0.0f);
  std::vector<float> pow2(static_cast<std::size_t>(T) * nb, 1.0f);
  std::vector<float> x_row(C);
  for (int t = 0; t < T; ++t) {
    for (int c = 0; c < C; ++c) {
      x_row[c] = input_value(mem_.act, static_cast<std::size_t>(t) * C + c, cfg.input_format);
      x_in[static_cast<std::size_t>(t) * C + c] = x_row[c];
      counters_.nonfinite_inputs += !std::isfinite(x_row[c]);
    }
    counters_.inputs_aligned += C;
    counters_.inputs_flushed += hw::align_row(x_row.data(), C, bs, cfg, xt.data() + static_cast<std::size_t>(t) * C,
                                              pow2.data() + static_cast<std::size_t>(t) * nb);
  }

  const int mrows = cfg.macro_rows;
  const int mcols = cfg.macro_cols;
  const int bpt = mrows / bs;
  const int k_tiles = (nb + bpt - 1) / bpt;
  const int n_tiles = (R + mcols - 1) / mcols;
  psum_.begin_layer(R, T, &mem_.out);
  const std::int64_t psum_start = psum_.jobs_done();
  std::int64_t issued = 0;
  const std::int64_t macro_start = macro_.jobs_done();
  for (int n = 0; n < n_tiles; ++n) {
    for (int k = 0; k < k_tiles; ++k) {
      auto tile = std::make_shared<WeightTile>();
      tile->n_tile = n;
      tile->k_tile = k;
      tile->valid_cols = std::min(mcols, R - n * mcols);
      tile->segments = std::min(bpt, nb - k * bpt);
      tile->last_k_tile = k == k_tiles - 1;
      const int segs = tile->segments;
      const int c0 = k * bpt * bs;  // input column of tile row 0
      tile->codes.assign(static_cast<std::size_t>(mrows) * mcols, 0);
      tile->offsets.assign(mrows, 0);
      const std::size_t cs = static_cast<std::size_t>(mcols) * segs;
      tile->scale.assign(cs, 0.0f);
      tile->zero.assign(cs, 0.0f);
      tile->gated_row.assign(cs, -1);
      tile->outlier_row.assign(cs, -1);
      tile->outlier_w.assign(cs, 0.0f);
      for (int s = 0; s < segs; ++s) {
        const int b = k * bpt + s;
        const BlockRange br = block_range(b, C, bs);
        tile->seg_block.push_back(b);
        tile->seg_begin.push_back(br.begin - c0);
        tile->seg_end.push_back(br.end - c0);
      }
      for (int i = 0; i < mrows && c0 + i < C; ++i) {
        tile->offsets[i] = load<std::int8_t>(mem_.offset, static_cast<std::size_t>(c0 + i));
      }
      for (int j = 0; j < tile->valid_cols; ++j) {
        const int r = n * mcols + j;
        for (int i = 0; i < mrows && c0 + i < C; ++i) {
          tile->codes[static_cast<std::size_t>(i) * mcols + j] = codes[static_cast<std::size_t>(r) * C + c0 + i];
        }
        for (int s = 0; s < segs; ++s) {
          const std::size_t rb = static_cast<std::size_t>(r) * nb + tile->seg_block[s];
          const std::size_t kk = static_cast<std::size_t>(j) * segs + s;
          tile->scale[kk] = hw::round_to(cfg.scale_format, load<float>(mem_.scale, rb));
          tile->zero[kk] = hw::round_to(cfg.zero_format, load<float>(mem_.zero, rb));
          if (outlier_col[rb] >= 0) {
            tile->outlier_row[kk] = outlier_col[rb] - c0;
            tile->gated_row[kk] = (outlier_col[rb] / 4) * 4 - c0;
            tile->outlier_w[kk] = outlier_w[rb];
          }
        }
      }
      // The macro's cells can only be rewritten once it has streamed the previous tile's jobs.
      while (macro_.jobs_done() - macro_start < issued) wait(macro_.job_done_event());
      wait(static_cast<double>(p_.macro_write_cycles) * period_);
      busy_cycles_ += p_.macro_write_cycles;
      ++counters_.tile_loads;
      for (int j = 0; j < tile->valid_cols; ++j) {  // the stored words of the tile: codes and outlier patterns
        for (int m = c0 / 4; m < std::min(c0 + mrows, C) / 4; ++m) {
          counters_.cell_ones_written += word_ones[static_cast<std::size_t>(n * mcols + j) * quads + m];
          counters_.cell_bits_written += 16;
        }
      }
      for (int t = 0; t < T; ++t) {
        auto job = std::make_shared<MacroJob>();
        job->tile = tile;
        job->token = t;
        job->xt.assign(mrows, 0);
        job->x_in.assign(mrows, 0.0f);
        for (int i = 0; i < mrows && c0 + i < C; ++i) {
          job->xt[i] = xt[static_cast<std::size_t>(t) * C + c0 + i];
          job->x_in[i] = x_in[static_cast<std::size_t>(t) * C + c0 + i];
        }
        for (int s = 0; s < segs; ++s) job->seg_pow2.push_back(pow2[static_cast<std::size_t>(t) * nb + tile->seg_block[s]]);
        const JobPtr jp = job;
        to_macro.write(jp);
        to_outlier.write(jp);
        ++issued;
      }
    }
  }
  while (psum_.jobs_done() - psum_start < issued) wait(psum_.job_done_event());
  return true;
}

}  // namespace oacim::sim
