// softmax.cpp — softmax and log-softmax along one dim.
//
// With y = softmax(x) along the dim, dy_i/dx_j = y_i (delta_ij - y_j), so
//   softmax:      dx = y * (dy - sum(dy * y))
//   log_softmax:  dx = dy - softmax(x) * sum(dy),   softmax(x) = exp(y)
// where the sums run along the dim (keepdim, so they broadcast back).
#include "graph/node.h"
#include "ops/ops.h"
#include "tensor/backend.h"

namespace dl {

namespace {

Tensor softmax_forward(const char* op, const Tensor& x, int64_t dim, bool log) {
  check(is_floating(x.dtype()), op, ": expected a floating tensor, got ", x.dtype(), " ", x.shape());
  const int64_t d = normalize_dim(op, dim, x.dim(), x.shape());
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  backend(x.device()).softmax(x, d, log, y);
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = softmax_forward("softmax", x, dim, false);
  record_differentiable("softmax", {x}, y, [ys = save_output(y), dim](const Tensor& dy) {
    const Tensor& y = ys.get();
    return TensorList{y * (dy - sum(dy * y, {dim}, true))};
  });
  return y;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = softmax_forward("log_softmax", x, dim, true);
  record_differentiable("log_softmax", {x}, y, [ys = save_output(y), dim](const Tensor& dy) {
    return TensorList{dy - exp(ys.get()) * sum(dy, {dim}, true)};
  });
  return y;
}

}  // namespace dl
