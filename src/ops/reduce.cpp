// reduce.cpp — reductions over dims: sum, mean, max, argmax, var, sum_to.
//
// Every reduction's backward has the same shape problem: dy has the reduced
// shape and dx must have x's shape. grad_to_input() restores the reduced
// dims (size 1) and broadcasts dy back over them; the per-op math is then
// one line:
//   sum:  dx = dy                     (each x_i contributes once)
//   mean: dx = dy / N
//   max:  dx = dy * [x_i == max] / #maxima   (ties share the gradient)
//   var:  dx = dy * 2 (x_i - mean) / (N - correction)
#include <cmath>

#include "graph/grad_mode.h"
#include "graph/node.h"
#include "ops/ops.h"
#include "tensor/backend.h"

namespace dl {

namespace {

// x's shape with the reduced dims set to 1 (keepdim) or removed.
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  size_t next = 0;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const bool is_reduced = next < dims.size() && dims[next] == d;
    if (is_reduced) ++next;
    if (!is_reduced) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

int64_t reduced_count(const Shape& shape, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= shape[d];
  return n;
}

// Runs a reduction kernel; `dims` normalised. The kernel writes the keepdim
// shape; without keepdim the (contiguous) result is re-viewed without them.
Tensor reduce_forward(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, DType out_dtype) {
  Tensor out = Tensor::empty(reduced_shape(x.shape(), dims, true), out_dtype, x.device());
  backend(x.device()).reduce(op, x, dims, out);
  if (keepdim) return out;
  const Shape shape = reduced_shape(x.shape(), dims, false);
  return as_strided_view(out, shape, contiguous_strides(shape), 0);
}

// dy (reduced shape) -> broadcast over x's shape.
Tensor grad_to_input(const Tensor& dy, const Shape& x_shape, const std::vector<int64_t>& dims) {
  return dy.reshape(reduced_shape(x_shape, dims, true)).expand(x_shape);
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims_arg, bool keepdim) {
  const std::vector<int64_t> dims = normalize_dims("sum", dims_arg, x.shape());
  const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::Int64;
  Tensor y = reduce_forward(ReduceOp::Sum, x, dims, keepdim, out_dtype);
  record_differentiable("sum", {x}, y, [x_shape = x.shape(), dims](const Tensor& dy) {
    return TensorList{grad_to_input(dy, x_shape, dims)};
  });
  return y;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims_arg, bool keepdim) {
  const std::vector<int64_t> dims = normalize_dims("mean", dims_arg, x.shape());
  check(is_floating(x.dtype()), "mean: expected a floating tensor, got ", x.dtype(), " ", x.shape());
  const double n = static_cast<double>(reduced_count(x.shape(), dims));
  Tensor y;
  {
    NoGradGuard no_grad;  // computed with sum, recorded below as one "mean" node
    y = sum(x, dims, keepdim) / n;
  }
  record_differentiable("mean", {x}, y, [x_shape = x.shape(), dims, n](const Tensor& dy) {
    return TensorList{grad_to_input(dy, x_shape, dims) / n};
  });
  return y;
}

Tensor max(const Tensor& x, const std::vector<int64_t>& dims_arg, bool keepdim) {
  const std::vector<int64_t> dims = normalize_dims("max", dims_arg, x.shape());
  // Only the reduced dims must be non-empty (as argmax and PyTorch's amax):
  // max over dim 1 of a [0, 3] tensor is a valid, empty [0] result.
  check(reduced_count(x.shape(), dims) > 0, "max: cannot reduce over an empty dim of shape ", x.shape());
  Tensor y = reduce_forward(ReduceOp::Max, x, dims, keepdim, x.dtype());
  record_differentiable("max", {x}, y, [xs = save(x), ys = save(y), dims](const Tensor& dy) {
    const Tensor& x = xs.get();
    const Tensor is_max = eq(x, grad_to_input(ys.get(), x.shape(), dims)).to(x.dtype());
    const Tensor count = sum(is_max, dims, true);
    return TensorList{grad_to_input(dy, x.shape(), dims) * is_max / count};
  });
  return y;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  const std::vector<int64_t> dims = normalize_dims("argmax", {dim}, x.shape());
  check(x.size(dims[0]) > 0, "argmax: dim ", dim, " of shape ", x.shape(), " is empty");
  Tensor y = reduce_forward(ReduceOp::ArgMax, x, dims, keepdim, DType::Int64);
  mark_non_differentiable("argmax", {x}, y);
  return y;
}

Tensor argmax(const Tensor& x) {
  return argmax(x.reshape({x.numel()}), 0, false);
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims_arg, bool unbiased, bool keepdim) {
  const std::vector<int64_t> dims = normalize_dims("var", dims_arg, x.shape());
  check(is_floating(x.dtype()), "var: expected a floating tensor, got ", x.dtype(), " ", x.shape());
  // N - 1 (Bessel's correction) for the unbiased estimate, N for the biased one.
  const double divisor = static_cast<double>(reduced_count(x.shape(), dims)) - (unbiased ? 1.0 : 0.0);
  Tensor centered, y;
  {
    NoGradGuard no_grad;
    centered = x - mean(x, dims, true);
    y = sum(centered * centered, dims, keepdim) / divisor;
  }
  // The backward recomputes x - mean from x (the same ops, so the same
  // values) rather than saving them: recorded, they make it differentiable.
  record_differentiable("var", {x}, y, [xs = save(x), dims, divisor](const Tensor& dy) {
    const Tensor& x = xs.get();
    const Tensor centered = x - mean(x, dims, true);
    return TensorList{grad_to_input(dy, x.shape(), dims) * centered * (2.0 / divisor)};
  });
  return y;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  check(broadcast_shapes("sum_to", shape, x.shape()) == x.shape(), "sum_to: shape ", x.shape(),
        " is not a broadcast of ", shape);
  // Sum over the leading dims broadcasting added, and over dims that were 1.
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(d);
  }
  return sum(x, dims, true).reshape(shape);
}

}  // namespace dl
