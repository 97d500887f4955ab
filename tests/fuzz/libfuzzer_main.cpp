// The libFuzzer entry point of every target: the environment variable OACIM_FUZZ_TARGET names the
// one a process fuzzes (tools/fuzz.sh sets it). A clean oacim::Error is an accepted outcome;
// anything else escaping aborts so that libFuzzer records the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_targets.hpp"

namespace {
const oacim::fuzz::Target* g_target = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* name = std::getenv("OACIM_FUZZ_TARGET");
  g_target = name ? oacim::fuzz::find_target(name) : nullptr;
  if (!g_target) {
    std::fprintf(stderr, "oacim_fuzz: set OACIM_FUZZ_TARGET to one of:");
    for (const auto& t : oacim::fuzz::targets()) std::fprintf(stderr, " %s", t.name);
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string why = oacim::fuzz::run_one(*g_target, std::string(reinterpret_cast<const char*>(data), size));
  if (!why.empty()) {
    std::fprintf(stderr, "oacim fuzz %s: %s\n", g_target->name, why.c_str());
    std::abort();
  }
  return 0;
}
