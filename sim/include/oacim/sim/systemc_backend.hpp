#pragma once
// The SystemC accelerator as a datapath backend (hw/datapath_backend.hpp): every case of a run in
// one elaboration (run_cosim), values read back over TLM and the modules' counters. A layer the
// chip rejects (its mapping) is an InvalidArgument naming the reason. One call per process.
#include <memory>

#include "oacim/hw/datapath_backend.hpp"

namespace oacim::sim {

std::unique_ptr<hw::DatapathBackend> systemc_backend();

}  // namespace oacim::sim
