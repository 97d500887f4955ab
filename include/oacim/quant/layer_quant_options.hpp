#pragma once
// What one Linear is quantized with: the method, the shared grid (block_grid.hpp) and the
// method's knobs (docs/algorithms.md sections A, B; docs/design.md §2). Validated at the boundary:
// validate() throws InvalidArgument naming the option (CLI spelling) and the reason. No torch.
#include <string>

#include "oacim/core/block_grid.hpp"
#include "oacim/core/offset_search.hpp"
#include "oacim/core/option_table.hpp"

namespace oacim::quant {

enum class Method { Rtn, Gptq, Oa, DiscQuant };
// The methods' names, declared once: to_string, parsing and the option's choices read them.
const EnumNames<Method>& method_names();
std::string to_string(Method m);
Method method_from_string(const std::string& text, const std::string& key);
// GPTQ and OA accumulate a Hessian per Linear; RTN and DiscQuant (distillation, discquant.hpp) do not.
inline bool uses_hessian(Method m) { return m == Method::Gptq || m == Method::Oa; }
// Every method but RTN reads calibration windows.
inline bool needs_calibration(Method m) { return m != Method::Rtn; }

// Where the damping and the dead-column fix go (docs/algorithms.md 1.3): GPTQ fixes dead columns and
// then adds percdamp * mean(diag H); OA/SpQR adds the damping first.
enum class DampOrder { Gptq, Oa };

// The largest |offset| the popcount-minimising sign may use: beyond it accuracy collapses.
inline constexpr int kMaxMinimiseOffset = 3;

struct LayerQuantOptions {
  Method method = Method::Oa;
  // grid.grid.block_size is the quantization block (scale/zero group, OA's GPTQ block and outlier
  // window); 0 means one block per row (GPTQ's groupsize -1), resolved per layer.
  BlockGridOptions grid;
  bool outliers = false;         // OA, RTN: one BF16 outlier per row per block in place of its quad
  bool offsets = false;          // OA, RTN: per-column offsets (two passes)
  OffsetSearchOptions offset_search;
  float percdamp = 0.01f;        // GPTQ, OA
  bool act_order = false;        // GPTQ: columns by descending diag(H)
  bool static_groups = false;    // GPTQ: groups fitted in natural order before act-order
  int gptq_block = 128;          // GPTQ: lazy-update batch (columns)

  LayerQuantOptions();           // OA-CIM's defaults: signed INT4, block 32, minmax ranges
  void validate() const;
  // validate() plus what the packed format needs: GPTQ's act-order with dynamic groups scatters a
  // group over the row, which per-(row, block) scales cannot hold.
  void check_packable() const;
  // The grid of a layer with `cols` inputs (block_size 0 becomes cols).
  GridSpec grid_for(int cols) const;
};

}  // namespace oacim::quant
