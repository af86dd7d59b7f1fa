// reduce.cpp — sum, max and argmax over a set of dims on the CPU.
//
// One pass over the input in row-major order. Three offsets are tracked per
// element: where it is in x, which output it belongs to (the output's strides
// with the reduced dims zeroed), and its position inside the reduced block
// (for argmax). Sums accumulate in double (int64 for integers) so float32
// sums of many elements stay accurate, and the order is fixed: results never
// depend on timing.
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

  // out_strides: where the element's result goes. block_strides: the
  // element's row-major index within its reduced block (for argmax).
  Shape out_strides(ndim, 0), block_strides(ndim, 0);
  int64_t block_stride = 1;
  for (int64_t d = ndim - 1; d >= 0; --d) {
    if (reduced[d]) {
      block_strides[d] = block_stride;
      block_stride *= x.shape()[d];
    } else {
      out_strides[d] = out.strides()[d];
    }
  }
  const int64_t outputs = out.numel();
  const T* in = x.data<T>();

  if (op == ReduceOp::Sum) {
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    using Out = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;
    std::vector<Acc> sums(outputs, Acc(0));
    for_each_strided<2>(x.shape(), {&x.strides(), &out_strides},
                        [&](const auto& off) { sums[off[1]] += static_cast<Acc>(in[off[0]]); });
    Out* o = out.data<Out>();
    for (int64_t i = 0; i < outputs; ++i) o[i] = static_cast<Out>(sums[i]);
    return;
  }

  // Max and ArgMax: strictly greater replaces, so the first maximum wins;
  // a NaN replaces anything and is never replaced (NaN propagates).
  std::vector<T> best(outputs);
  std::vector<int64_t> best_index(outputs, -1);
  for_each_strided<3>(x.shape(), {&x.strides(), &out_strides, &block_strides}, [&](const auto& off) {
    const T v = in[off[0]];
    int64_t& index = best_index[off[1]];
    if (index < 0 || (!is_nan(best[off[1]]) && (v > best[off[1]] || is_nan(v)))) {
      best[off[1]] = v;
      index = off[2];
    }
  });
  if (op == ReduceOp::Max) {
    T* o = out.data<T>();
    for (int64_t i = 0; i < outputs; ++i) o[i] = best[i];
  } else {
    int64_t* o = out.data<int64_t>();
    for (int64_t i = 0; i < outputs; ++i) o[i] = best_index[i];
  }
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, const Tensor& out) {
  visit_dtype(x.dtype(), [&](auto tag) { reduce_typed<decltype(tag)>(op, x, dims, out); });
}

}  // namespace dl
