#include "oacim/model/decoder.hpp"

namespace oacim::model {

at::Tensor Decoder::forward(const std::vector<int>& tokens, Backend backend) const {
  at::Tensor x = embed(tokens);
  for (int l = 0; l < num_blocks(); ++l) x = block_forward(l, x, backend);
  return head(x, backend);
}

std::vector<QuantLinear*> Decoder::linears() {
  std::vector<QuantLinear*> out;
  for (int l = 0; l < num_blocks(); ++l) {
    for (QuantLinear* lin : block_linears(l)) out.push_back(lin);
  }
  out.push_back(classifier());
  return out;
}

}  // namespace oacim::model
