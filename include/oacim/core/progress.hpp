#pragma once
// How a long library call (eval, quantize, tweak, a sweep) reports progress and warnings: one line
// of text at a time to a callback the caller chooses (the CLI prints it on stderr, a Python or
// C++ caller may log it or drop it). An empty function: silent. No torch.
#include <functional>
#include <string>

namespace oacim {

using ProgressFn = std::function<void(const std::string& line)>;

}  // namespace oacim
