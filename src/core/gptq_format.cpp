#include "oacim/core/gptq_format.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"

namespace oacim {

std::string to_string(GptqZeros z) { return z == GptqZeros::V1 ? "gptq" : "gptq_v2"; }

GptqZeros gptq_zeros_from_string(const std::string& text, const std::string& key) {
  if (text == "gptq") return GptqZeros::V1;
  if (text == "gptq_v2") return GptqZeros::V2;
  throw InvalidArgument(key, fmt::format("'{}' is not a GPTQ checkpoint format (gptq | gptq_v2)", text));
}

std::vector<std::int32_t> pack_code_stream(const std::vector<int>& codes, int bits) {
  std::vector<std::uint32_t> words((codes.size() * static_cast<std::size_t>(bits) + 31) / 32, 0u);
  for (std::size_t k = 0; k < codes.size(); ++k) {
    const auto v = static_cast<std::uint32_t>(codes[k]);
    for (int b = 0; b < bits; ++b) {
      const std::size_t pos = k * static_cast<std::size_t>(bits) + static_cast<std::size_t>(b);
      words[pos / 32] |= ((v >> b) & 1u) << (pos % 32);
    }
  }
  return std::vector<std::int32_t>(words.begin(), words.end());
}

std::vector<int> unpack_code_stream(const std::int32_t* words, std::size_t count, int bits) {
  std::vector<int> codes(count, 0);
  for (std::size_t k = 0; k < count; ++k) {
    for (int b = 0; b < bits; ++b) {
      const std::size_t pos = k * static_cast<std::size_t>(bits) + static_cast<std::size_t>(b);
      codes[k] |= static_cast<int>((static_cast<std::uint32_t>(words[pos / 32]) >> (pos % 32)) & 1u) << b;
    }
  }
  return codes;
}

bool is_column_order(const std::vector<std::int32_t>& order, int cols) {
  if (order.size() != static_cast<std::size_t>(cols)) return false;
  std::vector<char> seen(order.size(), 0);
  for (const std::int32_t c : order) {
    if (c < 0 || c >= cols || seen[static_cast<std::size_t>(c)]) return false;
    seen[static_cast<std::size_t>(c)] = 1;
  }
  return true;
}

namespace {

// The stream of output column r of a [n_words, R] matrix of words (qweight).
std::vector<int> column_codes(const std::vector<std::int32_t>& m, int R, int r, std::size_t count, int bits) {
  const std::size_t n_words = (count * static_cast<std::size_t>(bits) + 31) / 32;
  std::vector<std::int32_t> col(n_words);
  for (std::size_t i = 0; i < n_words; ++i) col[i] = m[i * static_cast<std::size_t>(R) + static_cast<std::size_t>(r)];
  return unpack_code_stream(col.data(), count, bits);
}

void check_shapes(const GptqLayer& l, const std::string& where) {
  const auto fail = [&](const std::string& why) { throw FormatError(where, why); };
  if (l.bits == 8) fail("8-bit GPTQ codes do not fit a 4-bit cell");
  if (l.bits < 2 || l.bits > 4) fail(fmt::format("bits {} is not 2, 3 or 4", l.bits));
  if (l.rows < 1 || l.cols < 1 || l.rows > (1 << 30) || l.cols > (1 << 30)) fail("has no rows or columns");
  if ((static_cast<std::int64_t>(l.cols) * l.bits) % 32 != 0 || (static_cast<std::int64_t>(l.rows) * l.bits) % 32 != 0) {
    fail(fmt::format("{} x {} is not whole 32-bit words of {}-bit codes", l.rows, l.cols, l.bits));
  }
  const std::size_t R = static_cast<std::size_t>(l.rows), C = static_cast<std::size_t>(l.cols);
  if (l.scales.empty() || l.scales.size() % R != 0) fail(fmt::format("scales hold {} values, not [groups, {}]", l.scales.size(), R));
  const std::size_t G = l.scales.size() / R;
  if (l.qweight.size() != C * l.bits / 32 * R) fail(fmt::format("qweight holds {} words, not [{}, {}]", l.qweight.size(), C * l.bits / 32, R));
  if (l.qzeros.size() != G * (R * l.bits / 32)) fail(fmt::format("qzeros holds {} words, not [{}, {}]", l.qzeros.size(), G, R * l.bits / 32));
  if (l.g_idx.size() != C) fail(fmt::format("g_idx holds {} values, not {}", l.g_idx.size(), C));
  for (std::size_t c = 0; c < C; ++c) {
    if (l.g_idx[c] < 0 || static_cast<std::size_t>(l.g_idx[c]) >= G) fail(fmt::format("g_idx[{}] = {} is not a group of {}", c, l.g_idx[c], G));
  }
}

}  // namespace

GptqImport gptq_to_packed(const GptqLayer& l, GptqZeros zero_format, const std::string& where) {
  check_shapes(l, where);
  const int R = l.rows, C = l.cols, G = l.groups(), maxq = (1 << l.bits) - 1;
  // Columns in group order (stable): every group contiguous on the chip.
  std::vector<std::int32_t> order(static_cast<std::size_t>(C));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return l.g_idx[a] < l.g_idx[b]; });
  const bool identity = std::is_sorted(l.g_idx.begin(), l.g_idx.end());
  // Blocks: the largest size (at most 32) dividing every group but the last one.
  std::vector<int> sizes(static_cast<std::size_t>(G), 0);
  for (const std::int32_t g : l.g_idx) ++sizes[static_cast<std::size_t>(g)];
  int block = 32;
  const int last = l.g_idx[static_cast<std::size_t>(order.back())];
  for (int g = 0; g < G; ++g) {
    if (g != last && sizes[static_cast<std::size_t>(g)] > 0) block = std::gcd(block, sizes[static_cast<std::size_t>(g)]);
  }
  if (block % 4 != 0) throw FormatError(where, fmt::format("groups of {} columns are not whole quads of the chip", block));

  PackedCimParts p;
  p.rows = R;
  p.cols = C;
  p.grid = GridSpec{l.bits, CodeKind::Unsigned, block};
  const int nb = num_blocks(C, block);
  const std::size_t rb = static_cast<std::size_t>(R) * nb;
  p.codes.assign(static_cast<std::size_t>(R) * C, 0);
  p.offsets.assign(static_cast<std::size_t>(C), 0);
  p.scales.assign(rb, 0.0f);
  p.zeros.assign(rb, 0.0f);
  p.outlier_col.assign(rb, kNoOutlier);
  p.outlier_value.assign(rb, Bf16{});
  const std::size_t zwords = static_cast<std::size_t>(R) * l.bits / 32;
  std::vector<std::vector<int>> zeros(static_cast<std::size_t>(G));
  for (int g = 0; g < G; ++g) {
    zeros[static_cast<std::size_t>(g)] = unpack_code_stream(l.qzeros.data() + static_cast<std::size_t>(g) * zwords, static_cast<std::size_t>(R), l.bits);
  }
  for (int r = 0; r < R; ++r) {
    const std::vector<int> q = column_codes(l.qweight, R, r, static_cast<std::size_t>(C), l.bits);
    for (int b = 0; b < nb; ++b) {
      const BlockRange br = block_range(b, C, block);
      const int g = l.g_idx[static_cast<std::size_t>(order[static_cast<std::size_t>(br.begin)])];
      const float s = l.scales[static_cast<std::size_t>(g) * R + r];
      if (!std::isfinite(s)) throw FormatError(where, fmt::format("scale of group {} row {} is {}", g, r, s));
      const int z = zeros[static_cast<std::size_t>(g)][static_cast<std::size_t>(r)] + (zero_format == GptqZeros::V1 ? 1 : 0);
      const bool flip = s < 0.0f;  // w = s (q - z) = |s| ((maxq - q) - (maxq - z)): a positive scale
      const std::size_t i = static_cast<std::size_t>(r) * nb + b;
      p.scales[i] = std::fabs(s);
      p.zeros[i] = static_cast<float>(flip ? maxq - z : z);
      for (int j = br.begin; j < br.end; ++j) {
        const int code = q[static_cast<std::size_t>(order[static_cast<std::size_t>(j)])];
        p.codes[static_cast<std::size_t>(r) * C + j] = static_cast<std::int8_t>(flip ? maxq - code : code);
      }
    }
  }
  try {
    return GptqImport{PackedCimWeights(std::move(p)), identity ? std::vector<std::int32_t>{} : std::move(order)};
  } catch (const InvariantError& e) {
    throw FormatError(where, e.what());
  }
}

namespace {

// Whether every row's blocks share one scale and zero within groups of `per` blocks.
bool blocks_share(const PackedCimWeights& w, int per) {
  for (int r = 0; r < w.rows(); ++r) {
    for (int b = 0; b < w.blocks(); ++b) {
      const GridParams a = w.params(r, b), first = w.params(r, b / per * per);
      if (a.scale != first.scale || a.zero != first.zero) return false;
    }
  }
  return true;
}

// The largest group (a multiple of the block size, a power-of-two number of blocks, or the whole
// row) within which every row's blocks share one scale and zero: a checkpoint's own group size.
int shared_group(const PackedCimWeights& w) {
  const int nb = w.blocks();
  if (blocks_share(w, nb)) return w.cols();
  for (int per = nb / 2; per > 1; --per) {
    if (nb % per == 0 && (per & (per - 1)) == 0 && blocks_share(w, per)) return per * w.grid().block_size;
  }
  return w.grid().block_size;
}

}  // namespace

int gptq_group_size(const PackedCimWeights& w) { return shared_group(w); }

GptqExport packed_to_gptq(const PackedCimWeights& w, const std::vector<std::int32_t>& input_order, GptqZeros zero_format,
                          const std::string& where, int group_size) {
  const auto refuse = [&](const std::string& why) { throw InvalidArgument(where, why); };
  const PackedCimParts& p = w.parts();
  const int R = w.rows(), C = w.cols(), bits = w.grid().bits, block = w.grid().block_size;
  const int maxq = (1 << bits) - 1;
  if (w.outlier_count() > 0) refuse(fmt::format("has {} BF16 outliers; the GPTQ layout has no place for them", w.outlier_count()));
  if (p.fractional_zeros || p.qq.quantize_zeros()) refuse("has fractional zeros; GPTQ stores integer zeros");
  if ((static_cast<std::int64_t>(C) * bits) % 32 != 0 || (static_cast<std::int64_t>(R) * bits) % 32 != 0) {
    refuse(fmt::format("{} x {} is not whole 32-bit words of {}-bit codes", R, C, bits));
  }
  if (!input_order.empty() && !is_column_order(input_order, C)) refuse("input_order is not a permutation of the columns");
  const auto column = [&](int j) { return input_order.empty() ? j : input_order[static_cast<std::size_t>(j)]; };
  const int zmin = zero_format == GptqZeros::V1 ? 1 : 0, zmax = zero_format == GptqZeros::V1 ? maxq + 1 : maxq;

  GptqExport e;
  e.group_size = group_size > 0 ? std::min(group_size, C) : shared_group(w);
  if (group_size > 0 && (e.group_size % block != 0 && e.group_size != C)) {
    refuse(fmt::format("group size {} is not a multiple of the block size {}", group_size, block));
  }
  if (group_size > 0 && !blocks_share(w, (e.group_size + block - 1) / block)) {
    refuse(fmt::format("its blocks of {} columns do not share scales and zeros over groups of {}", block, e.group_size));
  }
  const int G = (C + e.group_size - 1) / e.group_size;
  GptqLayer& l = e.layer;
  l.rows = R;
  l.cols = C;
  l.bits = bits;
  l.scales.assign(static_cast<std::size_t>(G) * R, 0.0f);
  l.g_idx.assign(static_cast<std::size_t>(C), 0);
  for (int j = 0; j < C; ++j) l.g_idx[static_cast<std::size_t>(column(j))] = j / e.group_size;
  std::vector<std::vector<int>> codes(static_cast<std::size_t>(R), std::vector<int>(static_cast<std::size_t>(C)));
  std::vector<std::vector<int>> zeros(static_cast<std::size_t>(G), std::vector<int>(static_cast<std::size_t>(R)));
  std::int64_t misfits = 0;
  e.sym = true;
  for (int r = 0; r < R; ++r) {
    for (int g = 0; g < G; ++g) {
      const int begin = g * e.group_size, end = std::min(C, begin + e.group_size);
      // The chip's value index q - o; GPTQ needs it shifted by one t per (row, group) into [0, maxq].
      int lo = 1 << 20, hi = -(1 << 20);
      for (int j = begin; j < end; ++j) {
        const int v = w.code(r, j) - w.offset(j);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      const GridParams gp = w.params(r, begin / block);
      const int z = static_cast<int>(gp.zero);
      const int t_lo = std::max(-lo, zmin - z), t_hi = std::min(maxq - hi, zmax - z);
      if (t_lo > t_hi) {
        ++misfits;
        continue;
      }
      const int natural = -w.grid().code_min();  // signed codes move to unsigned
      const int t = natural >= t_lo && natural <= t_hi ? natural : t_lo;
      for (int j = begin; j < end; ++j) codes[static_cast<std::size_t>(r)][static_cast<std::size_t>(column(j))] = w.code(r, j) - w.offset(j) + t;
      zeros[static_cast<std::size_t>(g)][static_cast<std::size_t>(r)] = z + t - (zero_format == GptqZeros::V1 ? 1 : 0);
      e.sym = e.sym && z + t == (maxq + 1) / 2;
      const float s16 = round_to_fp16(gp.scale);
      if (!std::isfinite(s16)) refuse(fmt::format("scale {} of row {} group {} overflows fp16", gp.scale, r, g));
      if (gp.scale != 0.0f) e.max_scale_change = std::max(e.max_scale_change, std::fabs(static_cast<double>(s16) - gp.scale) / gp.scale);
      l.scales[static_cast<std::size_t>(g) * R + r] = s16;
    }
  }
  if (misfits > 0) {
    refuse(fmt::format("{} of {} (row, group) pairs hold codes minus offsets or a zero that {}-bit GPTQ codes cannot; "
                       "export a quantization without offsets",
                       misfits, static_cast<std::int64_t>(R) * G, bits));
  }
  const std::size_t kwords = static_cast<std::size_t>(C) * bits / 32;
  l.qweight.assign(kwords * R, 0);
  for (int r = 0; r < R; ++r) {
    const std::vector<std::int32_t> col = pack_code_stream(codes[static_cast<std::size_t>(r)], bits);
    for (std::size_t i = 0; i < kwords; ++i) l.qweight[i * R + static_cast<std::size_t>(r)] = col[i];
  }
  for (int g = 0; g < G; ++g) {
    const std::vector<std::int32_t> zw = pack_code_stream(zeros[static_cast<std::size_t>(g)], bits);
    l.qzeros.insert(l.qzeros.end(), zw.begin(), zw.end());
  }
  return e;
}

}  // namespace oacim
