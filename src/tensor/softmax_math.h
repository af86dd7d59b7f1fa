// softmax_math.h — softmax's per-element formulas, shared by the CPU
// (tensor/cpu/softmax.cpp) and CUDA (tensor/cuda/softmax.cu) kernels, which
// only differ in how they fold a row's max and sum (a scan, a block tree).
// Everything is in double, with m = max_j x_j (fmax, which skips NaN) and
// sum = sum_j e^(x_j - m) of the row:
//   softmax(x)_i     = e^(x_i - m) / sum
//   log_softmax(x)_i = (x_i - m) - log(sum)
// Subtracting the max keeps exp() from overflowing and does not change the
// result.
#pragma once

#include <cmath>

#include "tensor/host_device.h"

namespace dl {

// One term of the row's sum: e^(x - m).
DL_HOST_DEVICE inline double softmax_term(double x, double max) { return std::exp(x - max); }

// Output i from x_i, the row's m, sum and log(sum) (computed once per row).
DL_HOST_DEVICE inline double softmax_output(double x, double max, double sum, double log_sum, bool log) {
  const double shifted = x - max;
  return log ? shifted - log_sum : std::exp(shifted) / sum;
}

}  // namespace dl
