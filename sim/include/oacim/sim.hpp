#pragma once
// oacim::sim (SystemC 2.3): the accelerator's SystemC modules and the co-simulation driver that
// runs layers through them over TLM and checks them against the hw model. docs/library.md.
#include "oacim/hw.hpp"
#include "oacim/sim/cosim.hpp"
#include "oacim/sim/cosim_check.hpp"
#include "oacim/sim/systemc_backend.hpp"
