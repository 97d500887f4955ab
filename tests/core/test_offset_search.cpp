// OffsetSearch: brute force for the minimising rule, upstream's reference selection for `faithful`.
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/offset_search.hpp"

namespace oacim {
namespace {

std::int64_t brute_force_ones(const std::vector<int>& codes, int offset, const GridSpec& g) {
  std::int64_t n = 0;
  for (int a : codes) {
    const int stored = std::min(std::max(a + offset, g.code_min()), g.code_max());
    // Independent popcount of the stored cell: count the bits of the 4-bit two's-complement nibble.
    const unsigned nibble = static_cast<unsigned>(stored) & 0xFu;
    for (int bit = 0; bit < 4; ++bit) n += (nibble >> bit) & 1u;
  }
  return n;
}

TEST(OffsetSearch, MinimiseFindsTheTrueMinimumOfItsCandidateSet) {
  std::mt19937 gen(11);
  for (int bits = 2; bits <= 4; ++bits) {
    for (CodeKind kind : {CodeKind::Signed, CodeKind::Unsigned}) {
      const GridSpec g{bits, kind, 32};
      for (int m : {0, 1, 3, g.levels_minus_one()}) {
        const OffsetSearch search(g, OffsetSearchOptions{OffsetSign::Minimise, m});
        for (int trial = 0; trial < 40; ++trial) {
          // Columns from skewed, centred and uniform code distributions.
          std::vector<int> codes(static_cast<std::size_t>(1 + gen() % 300));
          std::normal_distribution<double> nd(static_cast<double>(gen() % 5) - 2.0, 1.0 + (gen() % 3));
          for (auto& a : codes) {
            a = static_cast<int>(std::lround(nd(gen)));
            if (kind == CodeKind::Unsigned) a += 1 << (bits - 1);
            a = std::min(std::max(a, g.code_min()), g.code_max());
          }
          std::int64_t best = INT64_MAX;
          int best_o = 0;
          for (int o = -m; o <= m; ++o) {
            const auto c = brute_force_ones(codes, o, g);
            if (c < best || (c == best && (std::abs(o) < std::abs(best_o) || (std::abs(o) == std::abs(best_o) && o < best_o)))) {
              best = c;
              best_o = o;
            }
          }
          const OffsetChoice ch = search.choose(codes);
          ASSERT_EQ(ch.ones_after, best);
          ASSERT_EQ(ch.offset, best_o);
          ASSERT_EQ(ch.ones_before, brute_force_ones(codes, 0, g));
          ASSERT_LE(ch.ones_after, ch.ones_before);
        }
      }
    }
  }
}

TEST(OffsetSearch, CountsClippedCodes) {
  const GridSpec g{4, CodeKind::Signed, 32};
  const OffsetSearch search(g, OffsetSearchOptions{OffsetSign::Minimise, 1});
  // Code -1 (1111) costs 4 ones; +1 stores 0 (0000), so the search shifts up. Nothing clips.
  const OffsetChoice a = search.choose({-1, -1, -1, 6});
  EXPECT_EQ(a.offset, 1);
  EXPECT_EQ(a.ones_before, 4 + 4 + 4 + 2);
  EXPECT_EQ(a.ones_after, 0 + 0 + 0 + 3);
  EXPECT_EQ(a.clipped, 0);
  // 7 (0111) -> 6 (0110) with -1; +1 would clamp at 7 and change nothing.
  const OffsetChoice b = search.choose({7, 7, 7, 7});
  EXPECT_EQ(b.offset, -1);
  EXPECT_EQ(b.ones_after, 8);
  EXPECT_EQ(b.clipped, 0);
  // +1 wins although the 7 is clipped (it stays 7): the clip is counted.
  const OffsetChoice c = search.choose({7, -1, -1});
  EXPECT_EQ(c.offset, 1);
  EXPECT_EQ(c.ones_after, 3);
  EXPECT_EQ(c.clipped, 1);
}

struct Reference {
  int rows = 0;
  int cols = 0;
  std::vector<std::vector<int>> columns;
  std::vector<int> faithful_offsets;
  nlohmann::json doc;
};

Reference load_reference() {
  std::ifstream in(std::string(OACIM_FIXTURE_DIR) + "/offset_reference.json");
  EXPECT_TRUE(in.good()) << "missing fixture offset_reference.json";
  Reference r;
  in >> r.doc;
  r.rows = r.doc["rows"];
  r.cols = r.doc["cols"];
  r.columns.assign(static_cast<std::size_t>(r.cols), std::vector<int>());
  for (const auto& row : r.doc["codes_hex"]) {
    const std::string text = row.get<std::string>();
    for (int c = 0; c < r.cols; ++c) {
      const int nibble = std::stoi(text.substr(static_cast<std::size_t>(c), 1), nullptr, 16);
      r.columns[static_cast<std::size_t>(c)].push_back(CellCode::from_nibble(static_cast<std::uint8_t>(nibble)).signed_value());
    }
  }
  r.faithful_offsets = r.doc["faithful_offsets"].get<std::vector<int>>();
  return r;
}

std::int64_t total_ones(const Reference& ref, const OffsetSearch& search, std::vector<int>* offsets) {
  std::int64_t total = 0;
  for (const auto& col : ref.columns) {
    const OffsetChoice ch = search.choose(col);
    if (offsets) offsets->push_back(ch.offset);
    total += ch.ones_after;
  }
  return total;
}

TEST(OffsetSearch, FaithfulReproducesUpstreamSelection) {
  const Reference ref = load_reference();
  ASSERT_EQ(ref.columns.size(), 128u);
  const GridSpec g{4, CodeKind::Signed, 32};
  std::vector<int> offsets;
  const auto faithful = total_ones(ref, OffsetSearch(g, {OffsetSign::Faithful, 7}), &offsets);
  EXPECT_EQ(offsets, ref.faithful_offsets);
  EXPECT_EQ(faithful, ref.doc["ones_faithful"].get<std::int64_t>());  // 136,191: +7.4% (upstream's bug)
  const auto clamped = total_ones(ref, OffsetSearch(g, {OffsetSign::Faithful, 1}), nullptr);
  EXPECT_EQ(clamped, ref.doc["ones_faithful_clamped"].get<std::int64_t>());
}

TEST(OffsetSearch, MinimiseBeatsUpstreamsIntendedSign) {
  const Reference ref = load_reference();
  const GridSpec g{4, CodeKind::Signed, 32};
  const auto none = ref.doc["ones_no_offset"].get<std::int64_t>();
  const auto m7 = total_ones(ref, OffsetSearch(g, {OffsetSign::Minimise, 7}), nullptr);
  const auto m1 = total_ones(ref, OffsetSearch(g, {OffsetSign::Minimise, 1}), nullptr);
  const auto faithful = total_ones(ref, OffsetSearch(g, {OffsetSign::Faithful, 7}), nullptr);
  EXPECT_LE(m7, ref.doc["ones_intended"].get<std::int64_t>());          // <= 117,791 (-7.1%)
  EXPECT_LE(m1, ref.doc["ones_intended_clamped"].get<std::int64_t>());  // <= 119,666 (-5.6%)
  EXPECT_LT(m1, none);
  EXPECT_GT(faithful, none);
}

TEST(OffsetSearch, RejectsBadInput) {
  const GridSpec g{4, CodeKind::Signed, 32};
  EXPECT_THROW(OffsetSearch(g, {OffsetSign::Minimise, 16}), InvalidArgument);
  EXPECT_THROW(OffsetSearch(g, {OffsetSign::Minimise, -1}), InvalidArgument);
  EXPECT_THROW(OffsetSearch(GridSpec{5, CodeKind::Signed, 32}, {}), InvalidArgument);
  const OffsetSearch s(g, {});
  EXPECT_THROW(s.choose({8}), InvalidArgument);
  EXPECT_THROW(offset_sign_from_string("inverted", "offset_sign"), InvalidArgument);
}

}  // namespace
}  // namespace oacim

namespace oacim {
namespace {

// The error-aware rule on a column worked by hand: 4-bit signed grid, scale 1, zero 0, values
// 7, 7, 1, 1 (codes 7 7 1 1: 0111 0111 0001 0001 = 8 ones). Offset -1 stores 6 6 0 0 (4 ones) with
// no error; offset +1 clips both 7s to 7 (error 1 each, squared 2 in total) and stores 7 7 2 2
// (0111 0111 0010 0010: 8 ones). So -1 wins at every lambda.
TEST(OffsetSearch, ErrorAwareChoiceWeighsOnesAgainstTheErrorIncrease) {
  const GridSpec g{4, CodeKind::Signed, 32};
  const std::vector<GridParams> grids(4, GridParams{1.0f, 0.0f});
  OffsetSearchOptions opt{OffsetSign::Minimise, 1};
  opt.error_weight = 1.0;
  const OffsetSearch search(g, opt);
  const std::vector<double> costs = search.error_costs({7, 7, 1, 1}, grids, 1.0);
  EXPECT_EQ(costs, (std::vector<double>{0.0, 0.0, 2.0}));
  EXPECT_EQ(search.choose({7, 7, 1, 1}, &costs).offset, -1);
  // The column 3, 3, 3, -8: offset 0 stores 0011 x3 + 1000 (7 ones); -1 stores 0010 x3 + 1000
  // (4 ones, -9 clipped to -8: error 1); +1 stores 0100 x3 + 1001 (5 ones, exact). lambda decides.
  const std::vector<double> w{3, 3, 3, -8};
  const std::vector<double> c2 = search.error_costs(w, grids, 1.0);
  EXPECT_EQ(c2, (std::vector<double>{1.0, 0.0, 0.0}));
  const std::vector<int> codes{3, 3, 3, -8};
  for (const auto& [lambda, want] : std::vector<std::pair<double, int>>{{0.0, -1}, {0.5, -1}, {1.5, 1}, {1e6, 1}}) {
    OffsetSearchOptions o = opt;
    o.error_weight = lambda;
    const OffsetSearch s(g, o);
    const OffsetChoice ch = s.choose(codes, lambda > 0 ? &c2 : nullptr);
    EXPECT_EQ(ch.offset, want) << "lambda " << lambda;  // -1: 4 + lambda, +1: 5, 0: 7
  }
  // The Hessian scale divides the squared error.
  EXPECT_EQ(search.error_costs(w, grids, 2.0), (std::vector<double>{0.25, 0.0, 0.0}));
  // Without the costs the error-aware rule refuses to guess; a negative or NaN lambda is refused.
  EXPECT_THROW(search.choose(codes), InvalidArgument);
  OffsetSearchOptions bad = opt;
  bad.error_weight = -1;
  EXPECT_THROW(OffsetSearch(g, bad), InvalidArgument);
  bad.error_weight = std::nan("");
  EXPECT_THROW(OffsetSearch(g, bad), InvalidArgument);
  bad = opt;
  bad.sign = OffsetSign::Faithful;
  EXPECT_THROW(OffsetSearch(g, bad), InvalidArgument);
}

}  // namespace
}  // namespace oacim

namespace oacim {
namespace {

// Offsets in the cell: 3-bit signed codes [-4, 3] in a [-8, 7] cell. Shifts stay unclamped, every
// candidate in [-4, 4] keeps them in the cell, and the popcount is that of q + o itself.
TEST(OffsetSearch, OffsetsInTheCellNeverClip) {
  GridSpec g{3, CodeKind::Signed, 32};
  g.offsets_in_cell = true;
  EXPECT_EQ(g.stored_min(), -8);
  EXPECT_EQ(g.stored_max(), 7);
  EXPECT_EQ(g.in_cell_offset_min(), -4);
  EXPECT_EQ(g.in_cell_offset_max(), 4);
  EXPECT_EQ(quantize_code(10.0f, GridParams{1.0f, 0.0f}, 2, g), 5);   // clamp(10) = 3, then + 2
  EXPECT_EQ(quantize_code(-10.0f, GridParams{1.0f, 0.0f}, -4, g), -8);
  EXPECT_FALSE(is_clipped(2.0f, GridParams{1.0f, 0.0f}, 3, g));       // 5 is 2 + 3: in range
  const OffsetSearch search(g, OffsetSearchOptions{OffsetSign::Minimise, 4});
  EXPECT_EQ(search.stored_ones(3, 4), cell_ones(7));
  // Codes 3 3 3 -4: offset -4 stores -1 -1 -1 -8 (1111 x3 + 1000: 13 ones); +4 stores 7 7 7 0
  // (0111 x3: 9); -3 stores 0 0 0 -7 (1001: 2 ones) — the minimum, and nothing clipped.
  const OffsetChoice ch = search.choose({3, 3, 3, -4});
  EXPECT_EQ(ch.offset, -3);
  EXPECT_EQ(ch.ones_after, 2);
  EXPECT_EQ(ch.clipped, 0);
  // Unsigned 3-bit codes [0, 7] in a [0, 15] cell: no room below 0, so only offsets 0..8.
  GridSpec u{3, CodeKind::Unsigned, 32};
  u.offsets_in_cell = true;
  const OffsetSearch us(u, OffsetSearchOptions{OffsetSign::Minimise, 3});
  EXPECT_FALSE(us.allowed(-1));
  EXPECT_GE(us.choose({0, 0, 7, 7}).offset, 0);
  // 4-bit codes fill the cell; upstream's faithful rule clamps by design.
  GridSpec four{4, CodeKind::Signed, 32};
  four.offsets_in_cell = true;
  EXPECT_THROW(OffsetSearch(four, OffsetSearchOptions{}), InvalidArgument);
  EXPECT_THROW(OffsetSearch(g, OffsetSearchOptions{OffsetSign::Faithful, 1}), InvalidArgument);
}

}  // namespace
}  // namespace oacim
