// CIM cells and quads against tables of raw bit patterns.
#include <gtest/gtest.h>

#include "oacim/core/cim_cell.hpp"

namespace oacim {
namespace {

TEST(CellCode, NibbleTable) {
  // nibble -> (signed value, unsigned value, ones)
  const int table[16][3] = {{0, 0, 0},  {1, 1, 1},  {2, 2, 1},  {3, 3, 2},  {4, 4, 1},  {5, 5, 2},
                            {6, 6, 2},  {7, 7, 3},  {-8, 8, 1}, {-7, 9, 2}, {-6, 10, 2}, {-5, 11, 3},
                            {-4, 12, 2}, {-3, 13, 3}, {-2, 14, 3}, {-1, 15, 4}};
  for (int n = 0; n < 16; ++n) {
    const CellCode c = CellCode::from_nibble(static_cast<std::uint8_t>(n));
    EXPECT_EQ(c.signed_value(), table[n][0]) << n;
    EXPECT_EQ(c.unsigned_value(), table[n][1]) << n;
    EXPECT_EQ(c.ones(), table[n][2]) << n;
    EXPECT_EQ(CellCode::from_code(table[n][0]).nibble(), n);
    EXPECT_EQ(CellCode::from_code(table[n][1]).nibble(), n);
  }
  // 3-bit signed codes are sign-extended into the cell: -4 is stored as 1100.
  EXPECT_EQ(CellCode::from_code(-4).nibble(), 0xC);
  EXPECT_EQ(cell_ones(-1), 4);
}

TEST(CodeQuad, LowestNibbleIsFirstColumn) {
  const CodeQuad q = CodeQuad::from_codes({1, -1, 7, -8});
  EXPECT_EQ(q.word(), 0x87F1);
  EXPECT_EQ(q.cell(0).signed_value(), 1);
  EXPECT_EQ(q.cell(1).signed_value(), -1);
  EXPECT_EQ(q.cell(2).signed_value(), 7);
  EXPECT_EQ(q.cell(3).signed_value(), -8);
  EXPECT_EQ(q.ones(), 1 + 4 + 3 + 1);
  EXPECT_EQ(CodeQuad::from_codes({0, 0, 0, 0}).word(), 0x0000);
  EXPECT_EQ(CodeQuad::from_codes({15, 0, 0, 3}).word(), 0x300F);
}

TEST(CodeQuad, OutlierHoldsBf16Pattern) {
  const CodeQuad q = CodeQuad::from_outlier(Bf16::from_float(-3.0f));
  EXPECT_EQ(q.word(), 0xC040);
  EXPECT_EQ(q.as_outlier().to_float(), -3.0f);
  EXPECT_EQ(q.ones(), 3);
  EXPECT_EQ(popcount16(0xFFFF), 16);
}

}  // namespace
}  // namespace oacim
