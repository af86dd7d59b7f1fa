// conv_geometry.h — the geometry of a 2-D window op (convolution, its
// transpose, max-pooling), written once for the op layer and every backend,
// so that they cannot disagree on an output size.
#pragma once

#include <array>
#include <cstdint>

namespace dl {

// A (rows, columns) pair: a kernel size, a stride, a padding.
using Pair = std::array<int64_t, 2>;

// How many windows of `kernel` fit along a dimension of `size` with
// `padding` on both sides, stepping by `stride` (PyTorch's floor mode):
//   OH = (H + 2 p - k) / s + 1,
// and 0 when not even one fits. The formula alone would say 1 for a span
// (H + 2 p - k) in (-s, 0), since C++ division truncates toward zero.
inline int64_t conv_out_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding) {
  const int64_t span = size + 2 * padding - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

}  // namespace dl
