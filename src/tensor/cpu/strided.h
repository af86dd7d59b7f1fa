// strided.h — the one loop every CPU kernel is built on: visit all elements
// of a shape in row-major order while tracking each operand's offset through
// its own strides. Broadcast operands have stride 0 on repeated dims, so the
// same loop serves views, transposes and broadcasting alike.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tensor/shape.h"

namespace dl {

// body(offsets) is called once per element with offsets[k] = the element's
// position (in elements) relative to operand k's first element.
template <size_t N, typename Body>
void for_each_strided(const Shape& shape, const std::array<const Shape*, N>& strides, Body&& body) {
  const int64_t ndim = static_cast<int64_t>(shape.size());
  const int64_t total = shape_numel(shape);
  std::vector<int64_t> index(ndim, 0);
  std::array<int64_t, N> offsets{};
  for (int64_t n = 0; n < total; ++n) {
    body(offsets);
    // Advance the multi-index like an odometer, updating every offset.
    for (int64_t d = ndim - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) {
        for (size_t k = 0; k < N; ++k) offsets[k] += (*strides[k])[d];
        break;
      }
      for (size_t k = 0; k < N; ++k) offsets[k] -= (*strides[k])[d] * (shape[d] - 1);
      index[d] = 0;
    }
  }
}

}  // namespace dl
