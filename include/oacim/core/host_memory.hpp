#pragma once
// The host's memory as the kernel reports it (/proc/meminfo), in bytes: what a run can check
// before it asks for more than the machine has, instead of ending in the OOM killer.
#include <cstdint>
#include <string>

namespace oacim {

struct HostMemory {
  std::int64_t total = -1;      // MemTotal
  std::int64_t available = -1;  // MemAvailable: what new allocations get without swapping
  std::int64_t swap_free = -1;  // SwapFree
  // available + swap_free (swap counted when reported), or -1 when MemAvailable is unknown.
  std::int64_t usable() const { return available < 0 ? -1 : available + (swap_free > 0 ? swap_free : 0); }
};

// Reads `meminfo` (a /proc/meminfo-style file: "Key:   <n> kB" lines); fields it lacks stay -1, and
// an unreadable file gives all -1 (not an error: the caller then skips its check).
HostMemory read_host_memory(const std::string& meminfo = "/proc/meminfo");

}  // namespace oacim
