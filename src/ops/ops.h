// ops.h — the catalogue of tensor ops. Each op checks its inputs, runs a
// kernel from the backend of the inputs' device and, if it is
// differentiable, records its backward (graph/node.h).
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
//   norm.cpp     batch_norm layer_norm dropout
//   loss.cpp     binary_cross_entropy binary_cross_entropy_with_logits cross_entropy mse_loss gaussian_nll
//   conv.cpp     conv2d conv_transpose2d conv2d_weight max_pool2d
// Not differentiable: comparisons, argmax, one_hot, anything on integers.
#pragma once

#include <array>
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

// ---- normalization, dropout, losses (norm.cpp, loss.cpp) ----------------------
// PyTorch's F.batch_norm on x [N, C] or [N, C, ...], statistics over every dim
// but 1. Training: normalises with the batch mean and biased variance, and, if
// running_mean/running_var ([C]) are defined, updates them in place with
// `momentum` (the variance with its unbiased estimate). Eval: uses the running
// statistics. weight and bias ([C]) may be undefined (affine = false).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
// PyTorch's F.layer_norm: statistics over the last normalized_shape.size()
// dims of x, whose sizes must be normalized_shape:
//   y = (x - mean) / sqrt(var + eps) * weight + bias   (var biased)
// weight and bias of normalized_shape, or undefined (no affine). Composed of
// recorded ops, so its backward (and that backward's backward) is theirs.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);
// Inverted dropout: zeroes each element with probability p and scales the rest
// by 1 / (1 - p); the mask is a Philox draw from `generator` (default: the
// global one). Identity (x itself) when !training or p == 0; zeros for p == 1.
Tensor dropout(const Tensor& x, double p, bool training, Generator* generator = nullptr);
// Losses: the mean over elements (rows for cross_entropy), a 0-dim tensor.
// Input and target have the same shape, dtype and device (no broadcasting).
// p in [0, 1]; each log clamped at -100 as PyTorch.
Tensor binary_cross_entropy(const Tensor& p, const Tensor& target);
// Stable on logits z: max(z, 0) - z t + log(1 + e^-|z|).
Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& target);
// logits [N, K] and int64 class indices [N] in [0, K).
Tensor cross_entropy(const Tensor& logits, const Tensor& target);
Tensor mse_loss(const Tensor& input, const Tensor& target);
// Negative log-likelihood of x under N(mean, exp(log_std)^2), averaged over
// elements: log_std + ((x - mean) / exp(log_std))^2 / 2 + log(2 pi) / 2.
// The three broadcast together; all three get gradients.
Tensor gaussian_nll(const Tensor& x, const Tensor& mean, const Tensor& log_std);

// ---- joining (copies) --------------------------------------------------------
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

// ---- conv (float32/float64; PyTorch semantics, no dilation or groups) -------
// x [N, C, H, W], weight [O, C, kh, kw], bias [O] or an undefined Tensor():
// y [N, O, (H + 2 ph - kh) / sh + 1, (W + 2 pw - kw) / sw + 1].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 2> stride = {1, 1},
              std::array<int64_t, 2> padding = {0, 0});
// x [N, C_in, H, W], weight [C_in, C_out, kh, kw], bias [C_out] or undefined:
// y [N, C_out, (H - 1) sh - 2 ph + kh + oph, ...]; output_padding < stride.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        std::array<int64_t, 2> stride = {1, 1}, std::array<int64_t, 2> padding = {0, 0},
                        std::array<int64_t, 2> output_padding = {0, 0});
// The weight gradient of conv2d(x, W) for the output gradient grad_output
// [N, O, OH, OW]: [O, C, kh, kw] (PyTorch's torch.nn.grad.conv2d_weight).
// conv2d's and conv_transpose2d's backwards use it; it is differentiable too.
Tensor conv2d_weight(const Tensor& x, const Tensor& grad_output, std::array<int64_t, 2> kernel,
                     std::array<int64_t, 2> stride = {1, 1}, std::array<int64_t, 2> padding = {0, 0});
// Max over kh x kw windows, padding counts as -inf, floor mode; the gradient
// goes to each window's (first) maximum. padding <= kernel / 2.
Tensor max_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> padding = {0, 0});

}  // namespace dl
