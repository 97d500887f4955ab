#include "oacim/core/host_memory.hpp"

#include <fstream>
#include <sstream>

namespace oacim {

HostMemory read_host_memory(const std::string& meminfo) {
  HostMemory m;
  std::ifstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, unit;
    std::int64_t value = -1;
    if (!(fields >> key >> value) || value < 0) continue;
    fields >> unit;
    const std::int64_t bytes = unit == "kB" ? value * 1024 : value;
    if (key == "MemTotal:") m.total = bytes;
    if (key == "MemAvailable:") m.available = bytes;
    if (key == "SwapFree:") m.swap_free = bytes;
  }
  return m;
}

}  // namespace oacim
