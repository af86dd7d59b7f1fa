// softmax.cpp — softmax and log-softmax along one dim on the CPU (the
// formulas: tensor/softmax_math.h). Each row along `dim` is handled on its
// own, summing in double, in order.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/strided.h"
#include "tensor/softmax_math.h"

namespace dl {

namespace {

template <typename T>
void softmax_typed(const Tensor& x, int64_t dim, bool log, const Tensor& out) {
  const int64_t length = x.shape()[dim];
  const int64_t x_step = x.strides()[dim], out_step = out.strides()[dim];
  // Visit the start of every row: the shape with `dim` collapsed to 1.
  Shape rows = x.shape();
  rows[dim] = 1;
  const T* in = x.data<T>();
  T* o = out.data<T>();
  for_each_strided<2>(rows, {&x.strides(), &out.strides()}, [&](const auto& off) {
    const T* row = in + off[0];
    T* out_row = o + off[1];
    double max = -INFINITY;
    for (int64_t i = 0; i < length; ++i) max = std::fmax(max, static_cast<double>(row[i * x_step]));
    double sum = 0.0;
    for (int64_t i = 0; i < length; ++i) sum += softmax_term(static_cast<double>(row[i * x_step]), max);
    const double log_sum = std::log(sum);
    for (int64_t i = 0; i < length; ++i) {
      out_row[i * out_step] =
          static_cast<T>(softmax_output(static_cast<double>(row[i * x_step]), max, sum, log_sum, log));
    }
  });
}

}  // namespace

void CpuBackend::softmax(const Tensor& x, int64_t dim, bool log, const Tensor& out) {
  visit_floating(x.dtype(), "softmax", [&](auto tag) { softmax_typed<decltype(tag)>(x, dim, log, out); });
}

}  // namespace dl
