// reduce.cpp — sum, max and argmax over a set of dims on the CPU.
//
// Each output element is computed on its own: its reduced elements are
// visited in row-major order (the order a single row-major pass over x
// would meet them), as runs of the innermost merged reduced dim. Sums
// accumulate in double (int64 for integers) so float32 sums of many elements
// stay accurate. Outputs are split across threads, never one output's sum,
// so the summation order, and the result, never depends on the thread count.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/strided.h"

namespace dl {

namespace {

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

template <typename T>
void reduce_typed(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, const Tensor& out) {
  const int64_t ndim = x.dim();
  std::vector<bool> reduced(ndim, false);
  for (int64_t d : dims) reduced[d] = true;
  // x's dims split into the kept ones (which output) and the reduced ones
  // (which element of the output's block).
  Shape kept_shape, kept_strides, block_shape, block_strides;
  for (int64_t d = 0; d < ndim; ++d) {
    (reduced[d] ? block_shape : kept_shape).push_back(x.shape()[d]);
    (reduced[d] ? block_strides : kept_strides).push_back(x.strides()[d]);
  }
  const int64_t outputs = out.numel(), block = shape_numel(block_shape);
  const MergedLoop<1> block_loop = merge_dims<1>(block_shape, {&block_strides});
  const T* in = x.data<T>();

  // Offset in x of output o's first element (o is row-major over the kept dims).
  auto block_start = [&](int64_t o) {
    int64_t offset = 0;
    for (int64_t d = static_cast<int64_t>(kept_shape.size()) - 1; d >= 0; --d) {
      offset += (o % kept_shape[d]) * kept_strides[d];
      o /= kept_shape[d];
    }
    return offset;
  };
  // Enough outputs per chunk that a chunk holds ~kElementwiseGrain elements.
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(block, 1));

  if (op == ReduceOp::Sum) {
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    using Out = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;
    Out* o = out.data<Out>();
    parallel_for(0, outputs, grain, [&](int64_t first, int64_t last) {
      for (int64_t i = first; i < last; ++i) {
        const T* start = in + block_start(i);
        Acc sum = 0;
        if (block > 0) {
          for_each_strided_row(block_loop, 0, block, [&](const auto& off, int64_t count, const auto& step) {
            const T* p = start + off[0];
            if (step[0] == 1) {
              for (int64_t j = 0; j < count; ++j) sum += static_cast<Acc>(p[j]);
            } else {
              for (int64_t j = 0; j < count; ++j) sum += static_cast<Acc>(p[j * step[0]]);
            }
          });
        }
        o[i] = static_cast<Out>(sum);
      }
    });
    return;
  }

  // Max and ArgMax: strictly greater replaces, so the first maximum wins;
  // a NaN replaces anything and is never replaced (NaN propagates). The
  // index is the element's row-major position in its block.
  parallel_for(0, outputs, grain, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      const T* start = in + block_start(i);
      T best = T(0);
      int64_t best_index = -1, position = 0;
      for_each_strided_row(block_loop, 0, block, [&](const auto& off, int64_t count, const auto& step) {
        for (int64_t j = 0; j < count; ++j, ++position) {
          const T v = start[off[0] + j * step[0]];
          if (best_index < 0 || (!is_nan(best) && (v > best || is_nan(v)))) {
            best = v;
            best_index = position;
          }
        }
      });
      if (op == ReduceOp::Max) out.data<T>()[i] = best;
      else out.data<int64_t>()[i] = best_index;
    }
  });
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, const Tensor& out) {
  visit_dtype(x.dtype(), [&](auto tag) { reduce_typed<decltype(tag)>(op, x, dims, out); });
}

}  // namespace dl
