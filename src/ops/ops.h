// ops.h — the catalogue of tensor ops. Each op checks its inputs, runs a
// kernel from the backend of the inputs' device and, if it is
// differentiable, records its backward (autograd/node.h).
//
// Where each family lives (forward and backward side by side):
//   unary.cpp    neg abs exp log sqrt pow relu leaky_relu sigmoid tanh clamp
//   binary.cpp   add sub mul div, comparisons, where, operators
//   reduce.cpp   sum mean max argmax var, sum_to
//   view.cpp     the Tensor view methods, contiguous clone to, cat stack
//   matmul.cpp   matmul
//   softmax.cpp  softmax log_softmax
//   one_hot.cpp  one_hot
//   inplace.cpp  copy_ fill_ zero_ add_ mul_
// Not differentiable: comparisons, argmax, one_hot, anything on integers.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace dl {

// ---- unary (differentiable on float32/float64) ------------------------------
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor clamp(const Tensor& x, double min, double max);

// ---- binary, with NumPy broadcasting; both inputs share dtype and device --
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // floating only
// Comparisons return bool masks.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
// cond ? a : b element-wise; cond is bool; all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// A scalar operand becomes a 0-dim tensor of the other operand's dtype.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// ---- reductions; empty `dims` means every dim ------------------------------
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor max(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Index of the first maximum along `dim` (int64); without a dim, into the
// flattened tensor.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);
// Variance; unbiased divides by N - 1 (Bessel), biased by N.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, bool unbiased = true, bool keepdim = false);
// Sums a broadcast gradient back down to `shape` (undoes broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- linear algebra ----------------------------------------------------------
// torch.matmul: 2-D @ 2-D, batched with broadcast batch dims; a 1-D operand
// is treated as a row (left) or column (right) vector and its dim dropped.
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- softmax (numerically stable) --------------------------------------------
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- indexing ----------------------------------------------------------------
// int64 class indices [...] -> int64 one-hot [..., num_classes].
Tensor one_hot(const Tensor& indices, int64_t num_classes);

// ---- joining (copies) --------------------------------------------------------
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

}  // namespace dl
