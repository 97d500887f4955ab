#pragma once
// Refusing non-finite numbers where they would silently poison a run: weights, norms and scores
// read from files. The error names the file, the tensor and the first bad element. No torch.
#include <cstddef>
#include <cstdint>
#include <string>

namespace oacim {

// Index of the first NaN or infinity in data[0, n), or -1 when every value is finite.
std::int64_t first_non_finite(const float* data, std::size_t n);

// FormatError(file, "tensor 'name' holds inf at index i (row r, column c)") when data holds a
// non-finite value; `row_length` > 0 adds the row and column of a matrix stored row by row.
void require_finite(const float* data, std::size_t n, const std::string& file, const std::string& tensor,
                    std::int64_t row_length = 0);

}  // namespace oacim
