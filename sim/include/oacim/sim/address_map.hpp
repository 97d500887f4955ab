#pragma once
// The accelerator's memory map on its TLM-2.0 target socket (byte addresses, little endian).
// Registers are 32-bit words at kRegs + 4 * index.
#include <cstdint>

namespace oacim::sim::addr {

inline constexpr std::uint64_t kRegs = 0x0000'0000;
inline constexpr std::uint64_t kWords = 0x1000'0000;    // uint16 [R * C/4] packed (row, quad) words
inline constexpr std::uint64_t kMask = 0x2000'0000;     // int16 [R * nb] outlier column in block, -1 none
inline constexpr std::uint64_t kScale = 0x3000'0000;    // fp32 [R * nb]
inline constexpr std::uint64_t kZero = 0x4000'0000;     // fp32 [R * nb]
inline constexpr std::uint64_t kOffset = 0x5000'0000;   // int8 [C]
inline constexpr std::uint64_t kAct = 0x6000'0000;      // [T * C] in input.format (2 bytes)
inline constexpr std::uint64_t kOut = 0x7000'0000;      // [T * R] in output.format (2 or 4 bytes)
inline constexpr std::uint64_t kRegionSize = 0x1000'0000;

enum Reg : int {
  kRegRows = 0,       // output features R
  kRegCols,           // input features C
  kRegBlockSize,
  kRegCodeSigned,     // 1: two's-complement codes, 0: unsigned
  kRegTokens,
  kRegStart,          // write 1: run the layer
  kRegStatus,         // read: 0 busy/idle, 1 done, 2 error (mapping rejected)
  kRegCyclesLo,       // read: compute cycles of the last run
  kRegCyclesHi,
  kNumRegs
};

}  // namespace oacim::sim::addr
