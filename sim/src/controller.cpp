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

namespace {

// The stored words of quads [first, first + n) of the weight buffer, n <= 4, as one little-endian
// 64-bit value (quad q in bits 16 q); words the host did not write read as 0.
std::uint64_t load_quads(const std::vector<std::uint8_t>& words, std::size_t first, int n) {
  std::uint64_t v = 0;
  const std::size_t at = first * 2;
  if (n == 4 && at + 8 <= words.size()) {  // the common case, one 8-byte load
    std::memcpy(&v, words.data() + at, 8);
    return v;
  }
  if (at < words.size()) std::memcpy(&v, words.data() + at, std::min<std::size_t>(2 * n, words.size() - at));
  return n == 4 ? v : v & ((std::uint64_t{1} << (16 * n)) - 1);
}

// `1` bits of v (the portable build has no popcnt instruction, and libgcc's call costs more).
int ones64(std::uint64_t v) {
  v = v - ((v >> 1) & 0x5555555555555555ull);
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((v * 0x0101010101010101ull) >> 56);
}

// Bit k of each of the 16 nibbles of v, nibble i to bit i (a portable pext with mask 0x1111... << k).
std::uint64_t nibble_bits(std::uint64_t v, int k) {
  std::uint64_t x = (v >> k) & 0x1111111111111111ull;
  x = (x | x >> 3) & 0x0303030303030303ull;
  x = (x | x >> 6) & 0x000F000F000F000Full;
  x = (x | x >> 12) & 0x000000FF000000FFull;
  return (x | x >> 24) & 0xFFFFull;
}

// The cells' bit-slices from 16-row groups of stored quads, [n_groups][cols]: bit k of group g's
// nibbles goes to bits 16 (g % 4) .. 16 (g % 4) + 15 of word g / 4 of slice k, [4][words][cols].
// Columns innermost, so that it runs eight columns to an AVX-512 instruction where the CPU has it.
__attribute__((target_clones("avx512f", "default"))) void cut_slices(const std::uint64_t* groups, int n_groups, int cols,
                                                                      int words, std::uint64_t* cell_bits) {
  for (int g = 0; g < n_groups; ++g) {
    const std::uint64_t* src = groups + static_cast<std::size_t>(g) * cols;
    for (int bit = 0; bit < kCellBits; ++bit) {
      std::uint64_t* dst = cell_bits + (static_cast<std::size_t>(bit) * words + g / 4) * cols;
      const int shift = 16 * (g % 4);
      for (int j = 0; j < cols; ++j) dst[j] |= nibble_bits(src[j], bit) << shift;
    }
  }
}

}  // namespace

// Outlier columns from the mask buffer and their BF16 values from the quads that hold them; false
// (and error_) when the mask names a column outside its block.
bool Controller::decode_outliers(const LayerShape& L, std::vector<int>& outlier_col, std::vector<float>& outlier_w) {
  outlier_col.assign(static_cast<std::size_t>(L.rows) * L.blocks, -1);
  outlier_w.assign(outlier_col.size(), 0.0f);
  for (int r = 0; r < L.rows; ++r) {
    for (int b = 0; b < L.blocks; ++b) {
      const std::size_t rb = static_cast<std::size_t>(r) * L.blocks + b;
      const auto oc = load<std::int16_t>(mem_.mask, rb);
      if (oc < 0) continue;
      if (oc >= block_range(b, L.cols, L.block_size).size()) {
        error_ = "outlier mask of row " + std::to_string(r) + ", block " + std::to_string(b) + " names column " +
                 std::to_string(oc) + ", outside the block";
        return false;
      }
      outlier_col[rb] = b * L.block_size + oc;
      const auto word = load<std::uint16_t>(mem_.words, static_cast<std::size_t>(r) * L.quads + outlier_col[rb] / 4);
      outlier_w[rb] = Bf16::from_bits(word).to_float();
    }
  }
  std::int64_t ones = 0;  // every stored word, outlier quads included
  for (std::size_t q = 0; q < static_cast<std::size_t>(L.rows) * L.quads; q += 4) {
    ones += ones64(load_quads(mem_.words, q, static_cast<int>(std::min<std::size_t>(4, static_cast<std::size_t>(L.rows) * L.quads - q))));
  }
  counters_.weight_ones = ones;
  counters_.weight_bits = static_cast<std::int64_t>(L.rows) * L.quads * 16;
  return true;
}

// The input aligner: every token's groups, once per layer, cut into the input tiles' rows.
std::vector<std::shared_ptr<const TileInputs>> Controller::align_inputs(const LayerShape& L) {
  const hw::HwConfig& cfg = p_.hw;
  const int C = L.cols;
  const int mrows = cfg.macro_rows;
  const int words = (mrows + 63) / 64;
  const int bitplanes = cfg.mantissa_bits + 1;
  std::vector<std::int32_t> xt(C);
  std::vector<float> x_row(C);
  std::vector<float> pow2(L.blocks);
  std::vector<std::shared_ptr<const TileInputs>> tiles(static_cast<std::size_t>(L.tokens) * L.k_tiles);
  for (int t = 0; t < L.tokens; ++t) {
    for (int c = 0; c < C; ++c) {
      x_row[c] = input_value(mem_.act, static_cast<std::size_t>(t) * C + c, cfg.input_format);
      counters_.nonfinite_inputs += !std::isfinite(x_row[c]);
    }
    counters_.inputs_aligned += C;
    counters_.inputs_flushed += hw::align_row(x_row.data(), C, L.block_size, cfg, xt.data(), pow2.data());
    for (int k = 0; k < L.k_tiles; ++k) {
      auto in = std::make_shared<TileInputs>();
      const int c0 = k * L.blocks_per_tile * L.block_size;
      in->xt.assign(mrows, 0);
      in->x_in.assign(mrows, 0.0f);
      in->planes.assign(static_cast<std::size_t>(bitplanes) * words, 0);
      for (int i = 0; i < mrows && c0 + i < C; ++i) {
        in->xt[i] = xt[c0 + i];
        in->x_in[i] = x_row[c0 + i];
        for (int p = 0; p < bitplanes; ++p) {
          const int bit = hw::input_bit(xt[c0 + i], p);
          in->planes[static_cast<std::size_t>(p) * words + i / 64] |= static_cast<std::uint64_t>(bit) << (i % 64);
          in->ones += bit;
        }
      }
      for (int b = k * L.blocks_per_tile; b < std::min((k + 1) * L.blocks_per_tile, L.blocks); ++b) {
        in->seg_pow2.push_back(pow2[b]);
      }
      tiles[static_cast<std::size_t>(t) * L.k_tiles + k] = std::move(in);
    }
  }
  return tiles;
}

// Weight tile (n, k): the cells' bit-slices straight from the stored quads (an outlier quad's
// BF16 word gated off), the per-(column, block) parameters in their formats. Counts the bits the
// rewrite stores.
std::shared_ptr<const WeightTile> Controller::build_tile(const LayerShape& L, int n, int k,
                                                         const std::vector<int>& outlier_col,
                                                         const std::vector<float>& outlier_w) {
  const hw::HwConfig& cfg = p_.hw;
  const int mrows = cfg.macro_rows;
  const int mcols = cfg.macro_cols;
  const int C = L.cols;
  auto tile = std::make_shared<WeightTile>();
  tile->n_tile = n;
  tile->k_tile = k;
  tile->valid_cols = std::min(mcols, L.rows - n * mcols);
  tile->segments = std::min(L.blocks_per_tile, L.blocks - k * L.blocks_per_tile);
  tile->last_k_tile = k == L.k_tiles - 1;
  tile->codes_signed = L.codes_signed;
  tile->words = (mrows + 63) / 64;
  const int segs = tile->segments;
  const int c0 = k * L.blocks_per_tile * L.block_size;  // input column of tile row 0
  const int tile_quads = std::min(mrows, C - c0) / 4;   // C and c0 are multiples of 4
  const std::size_t words = static_cast<std::size_t>(tile->words);
  tile->cell_bits.assign(static_cast<std::size_t>(kCellBits) * words * mcols, 0);
  tile->offsets.assign(mrows, 0);
  const std::size_t cs = static_cast<std::size_t>(mcols) * segs;
  tile->scale.assign(cs, 0.0f);
  tile->zero.assign(cs, 0.0f);
  tile->gated_row.assign(cs, -1);
  tile->outlier_row.assign(cs, -1);
  tile->outlier_w.assign(cs, 0.0f);
  for (int s = 0; s < segs; ++s) {
    const int b = k * L.blocks_per_tile + s;
    const BlockRange br = block_range(b, C, L.block_size);
    tile->seg_block.push_back(b);
    tile->seg_begin.push_back(br.begin - c0);
    tile->seg_end.push_back(br.end - c0);
  }
  for (int i = 0; i < mrows && c0 + i < C; ++i) tile->offsets[i] = load<std::int8_t>(mem_.offset, static_cast<std::size_t>(c0 + i));
  const int n_groups = (tile_quads + 3) / 4;  // 16 rows (4 quads) each
  groups_.assign(static_cast<std::size_t>(n_groups) * mcols, 0);  // [group][column]
  const int next_c0 = c0 + L.blocks_per_tile * L.block_size;  // the next input tile's first column
  for (int j = 0; j < tile->valid_cols; ++j) {
    const int r = n * mcols + j;
    const std::size_t first = static_cast<std::size_t>(r) * L.quads + c0 / 4;
    // Every column reads another row of the buffers: fetch this row's next tile ahead.
    if (next_c0 < C) {
      const std::size_t next_rb = static_cast<std::size_t>(r) * L.blocks + next_c0 / L.block_size;
      const std::size_t next_word = 2 * (static_cast<std::size_t>(r) * L.quads + next_c0 / 4);
      if (next_word < mem_.words.size()) __builtin_prefetch(mem_.words.data() + next_word);
      if (4 * next_rb < mem_.scale.size()) __builtin_prefetch(mem_.scale.data() + 4 * next_rb);
      if (4 * next_rb < mem_.zero.size()) __builtin_prefetch(mem_.zero.data() + 4 * next_rb);
      if (2 * next_rb < mem_.mask.size()) __builtin_prefetch(mem_.mask.data() + 2 * next_rb);
    }
    for (int g = 0; g < n_groups; ++g) {
      std::uint64_t& v = groups_[static_cast<std::size_t>(g) * mcols + j];
      v = load_quads(mem_.words, first + 4 * g, std::min(4, tile_quads - 4 * g));
      counters_.cell_ones_written += ones64(v);
    }
    counters_.cell_bits_written += 16 * tile_quads;
    for (int s = 0; s < segs; ++s) {
      const std::size_t rb = static_cast<std::size_t>(r) * L.blocks + tile->seg_block[s];
      const std::size_t kk = static_cast<std::size_t>(j) * segs + s;
      tile->scale[kk] = hw::round_to(cfg.scale_format, load<float>(mem_.scale, rb));
      tile->zero[kk] = hw::round_to(cfg.zero_format, load<float>(mem_.zero, rb));
      if (outlier_col[rb] < 0) continue;
      const int q = outlier_col[rb] / 4 - c0 / 4;  // the quad holding the BF16 word
      tile->outlier_row[kk] = outlier_col[rb] - c0;
      tile->gated_row[kk] = 4 * q;
      tile->outlier_w[kk] = outlier_w[rb];
      groups_[static_cast<std::size_t>(q / 4) * mcols + j] &= ~(std::uint64_t{0xFFFF} << (16 * (q % 4)));
    }
  }
  cut_slices(groups_.data(), n_groups, mcols, tile->words, tile->cell_bits.data());
  return tile;
}

bool Controller::run_layer() {
  const hw::HwConfig& cfg = p_.hw;
  LayerShape L;
  L.rows = static_cast<int>(mem_.regs[addr::kRegRows]);
  L.cols = static_cast<int>(mem_.regs[addr::kRegCols]);
  L.block_size = static_cast<int>(mem_.regs[addr::kRegBlockSize]);
  L.codes_signed = mem_.regs[addr::kRegCodeSigned] != 0;
  L.tokens = static_cast<int>(mem_.regs[addr::kRegTokens]);
  error_.clear();
  if (L.rows <= 0 || L.cols <= 0 || L.cols % 4 != 0 || L.block_size <= 0 || L.block_size % 4 != 0 || L.tokens < 0) {
    error_ = "layer registers describe no valid layer";
    return false;
  }
  try {
    hw::check_mapping(cfg, L.block_size, 4);
  } catch (const std::exception& e) {
    error_ = e.what();
    return false;
  }
  L.blocks = num_blocks(L.cols, L.block_size);
  L.quads = L.cols / 4;
  L.blocks_per_tile = cfg.macro_rows / L.block_size;
  L.k_tiles = (L.blocks + L.blocks_per_tile - 1) / L.blocks_per_tile;
  const int n_tiles = (L.rows + cfg.macro_cols - 1) / cfg.macro_cols;

  std::vector<int> outlier_col;
  std::vector<float> outlier_w;
  if (!decode_outliers(L, outlier_col, outlier_w)) return false;
  const std::vector<std::shared_ptr<const TileInputs>> inputs = align_inputs(L);

  psum_.begin_layer(L.rows, L.tokens, &mem_.out);
  const std::int64_t psum_start = psum_.jobs_done();
  std::int64_t issued = 0;
  const std::int64_t macro_start = macro_.jobs_done();
  for (int n = 0; n < n_tiles; ++n) {
    for (int k = 0; k < L.k_tiles; ++k) {
      const std::shared_ptr<const WeightTile> tile = build_tile(L, n, k, outlier_col, outlier_w);
      // The macro's cells can only be rewritten once it has streamed the previous tile's jobs.
      while (macro_.jobs_done() - macro_start < issued) wait(macro_.job_done_event());
      wait(static_cast<double>(p_.macro_write_cycles) * period_);
      busy_cycles_ += p_.macro_write_cycles;
      ++counters_.tile_loads;
      for (int t = 0; t < L.tokens; ++t) {
        auto job = std::make_shared<MacroJob>();
        job->tile = tile;
        job->inputs = inputs[static_cast<std::size_t>(t) * L.k_tiles + k];
        job->token = t;
        const JobPtr jp = std::move(job);
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
