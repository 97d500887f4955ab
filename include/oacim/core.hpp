#pragma once
// oacim::core (no torch, SystemC or Boost): the sub-byte number formats, the packed CIM weight
// format and its safetensors I/O, the RTN packer, second-level quantization, offsets, Hadamard
// incoherence, and the statistics of per-token numbers. docs/library.md.
#include "oacim/core/bf16.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/gguf.hpp"
#include "oacim/core/hadamard.hpp"
#include "oacim/core/incoherence.hpp"
#include "oacim/core/offset_search.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/quant_grid.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/second_level.hpp"
#include "oacim/core/statistics.hpp"
#include "oacim/version.hpp"
