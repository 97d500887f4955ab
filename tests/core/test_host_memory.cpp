// read_host_memory: /proc/meminfo-style files in kB, missing fields and files.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "oacim/core/host_memory.hpp"

namespace oacim {
namespace {

std::string write_meminfo(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(HostMemory, ReadsTotalAvailableAndSwapInBytes) {
  const HostMemory m = read_host_memory(write_meminfo("meminfo_full", "MemTotal:       24576000 kB\n"
                                                                      "MemFree:         1000000 kB\n"
                                                                      "MemAvailable:   20000000 kB\n"
                                                                      "SwapTotal:       2000000 kB\n"
                                                                      "SwapFree:        1500000 kB\n"));
  EXPECT_EQ(m.total, 24576000LL * 1024);
  EXPECT_EQ(m.available, 20000000LL * 1024);
  EXPECT_EQ(m.swap_free, 1500000LL * 1024);
  EXPECT_EQ(m.usable(), (20000000LL + 1500000LL) * 1024);
}

TEST(HostMemory, MissingFieldsAndFilesAreUnknownNotErrors) {
  const HostMemory no_swap = read_host_memory(write_meminfo("meminfo_noswap", "MemAvailable: 1000 kB\nbroken line\n"));
  EXPECT_EQ(no_swap.usable(), 1000 * 1024);
  EXPECT_EQ(no_swap.total, -1);
  const HostMemory none = read_host_memory(::testing::TempDir() + "/no_such_meminfo");
  EXPECT_EQ(none.available, -1);
  EXPECT_EQ(none.usable(), -1);
  EXPECT_GT(read_host_memory().usable(), 0) << "this Linux host reports its memory";
}

}  // namespace
}  // namespace oacim
