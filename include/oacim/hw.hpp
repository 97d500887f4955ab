#pragma once
// oacim::hw (no torch, SystemC or Boost): the hardware config (YAML), the bit-accurate reference
// datapath, the fast datapath model and their counters, behind one DatapathBackend interface.
// docs/library.md.
#include "oacim/core.hpp"
#include "oacim/hw/datapath_backend.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/hw_counters.hpp"
#include "oacim/hw/layer_weights.hpp"
#include "oacim/hw/reference_datapath.hpp"
