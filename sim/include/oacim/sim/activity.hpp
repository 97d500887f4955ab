#pragma once
// Per-module activity a SystemC run reports: busy cycles and the module's unit of work.
#include <cstdint>
#include <string>

namespace oacim::sim {

struct ModuleActivity {
  std::string module;
  std::int64_t busy_cycles = 0;
  std::int64_t items = 0;
  std::string item_unit;  // "bit-planes", "block results", "products", ...
};

}  // namespace oacim::sim
