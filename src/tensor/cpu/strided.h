// strided.h — the loops the CPU kernels are built on: visit all elements of
// a shape in row-major order while tracking each operand's offset through
// its own strides. Broadcast operands have stride 0 on repeated dims, so the
// same loops serve views, transposes and broadcasting alike.
//
// for_each_strided calls its body once per element. The row form,
// parallel_for_each_strided_row, first merges dims that every operand walks
// as one (contiguous runs, broadcast blocks), then calls its body once per
// run of the innermost merged dim with a count and per-operand steps, so the
// kernel's inner loop is a plain indexed loop that the compiler vectorises
// when the steps are 1; and it splits the elements across threads.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "tensor/cpu/thread_pool.h"
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

namespace dl {

// A shape and N operands' strides with size-1 dims dropped and neighbouring
// dims merged where every operand allows it: dims d and d+1 merge when, for
// every operand, stride[d] == stride[d+1] * shape[d+1]. Visiting the merged
// loop in row-major order visits the same elements in the same order.
template <size_t N>
struct MergedLoop {
  Shape shape;                   // at least one dim
  std::array<Shape, N> strides;  // per operand, one per dim of shape
};

template <size_t N>
MergedLoop<N> merge_dims(const Shape& shape, const std::array<const Shape*, N>& strides) {
  MergedLoop<N> loop;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool mergeable = !loop.shape.empty();
    for (size_t k = 0; k < N && mergeable; ++k) mergeable = loop.strides[k].back() == (*strides[k])[d] * shape[d];
    if (mergeable) {
      loop.shape.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) loop.strides[k].back() = (*strides[k])[d];
    } else {
      loop.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) loop.strides[k].push_back((*strides[k])[d]);
    }
  }
  if (loop.shape.empty()) {  // a single element
    loop.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) loop.strides[k].push_back(0);
  }
  return loop;
}

// Visits the elements [begin, end) (row-major positions) of `loop` as runs
// along its innermost dim: body(offsets, count, steps) where element i of
// the run is at offsets[k] + i * steps[k] of operand k.
template <size_t N, typename Body>
void for_each_strided_row(const MergedLoop<N>& loop, int64_t begin, int64_t end, Body&& body) {
  const int64_t ndim = static_cast<int64_t>(loop.shape.size()), inner = loop.shape[ndim - 1];
  std::vector<int64_t> index(ndim, 0);
  std::array<int64_t, N> offsets{}, steps{};
  for (size_t k = 0; k < N; ++k) steps[k] = loop.strides[k][ndim - 1];
  for (int64_t d = ndim - 1, rest = begin; d >= 0; --d) {
    index[d] = rest % loop.shape[d];
    rest /= loop.shape[d];
    for (size_t k = 0; k < N; ++k) offsets[k] += index[d] * loop.strides[k][d];
  }
  for (int64_t at = begin;;) {
    const int64_t count = std::min(inner - index[ndim - 1], end - at);
    body(offsets, count, steps);
    at += count;
    if (at >= end) return;
    // At the end of a row: back to its start, then advance the outer dims.
    for (size_t k = 0; k < N; ++k) offsets[k] -= index[ndim - 1] * steps[k];
    index[ndim - 1] = 0;
    for (int64_t d = ndim - 2; d >= 0; --d) {
      if (++index[d] < loop.shape[d]) {
        for (size_t k = 0; k < N; ++k) offsets[k] += loop.strides[k][d];
        break;
      }
      for (size_t k = 0; k < N; ++k) offsets[k] -= loop.strides[k][d] * (loop.shape[d] - 1);
      index[d] = 0;
    }
  }
}

// Elements per thread below which an element-wise kernel runs on one thread
// (waking a worker costs about as much as this many cheap elements).
constexpr int64_t kElementwiseGrain = 32768;

// for_each_strided_row over every element of `shape`, the elements split
// into contiguous chunks across threads. The body must only write the
// elements it is given (each element has exactly one writer), so the result
// does not depend on the thread count.
template <size_t N, typename Body>
void parallel_for_each_strided_row(const Shape& shape, const std::array<const Shape*, N>& strides, Body&& body) {
  const int64_t total = shape_numel(shape);
  if (total == 0) return;
  const MergedLoop<N> loop = merge_dims(shape, strides);
  parallel_for(0, total, kElementwiseGrain,
               [&](int64_t begin, int64_t end) { for_each_strided_row(loop, begin, end, body); });
}

}  // namespace dl
