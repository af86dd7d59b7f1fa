// unary.cpp — element-wise unary ops: forward (a backend kernel) and
// backward (the derivative, written with other ops) side by side.
//
// Notation in the comments: y = f(x), dy = dL/dy (the incoming gradient),
// dx = dL/dx = dy * f'(x). Backward functions reuse the saved output y
// where f' is cheapest in terms of y (exp, sigmoid, tanh, sqrt).
#include <cmath>

#include "graph/grad_mode.h"
#include "graph/node.h"
#include "ops/ops.h"
#include "tensor/backend.h"

namespace dl {

namespace {

// Runs the kernel into a fresh tensor. `floating_only` ops (exp, log, ...)
// refuse integer input; the others accept any dtype but bool.
Tensor unary_forward(const char* name, UnaryOp op, const Tensor& x, bool floating_only, double a = 0, double b = 0) {
  if (floating_only) {
    check(is_floating(x.dtype()), name, ": expected a float32 or float64 tensor, got ", x.dtype(), " ", x.shape());
  } else {
    check(x.dtype() != DType::Bool, name, ": not defined for bool tensors (shape ", x.shape(), ")");
  }
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  backend(x.device()).unary(op, x, y, a, b);
  return y;
}

// A 0/1 tensor of x's dtype from a bool mask, for masking gradients.
Tensor as_mask(const Tensor& condition, const Tensor& like) { return condition.to(like.dtype()); }

}  // namespace

// y = -x;  dx = -dy
Tensor neg(const Tensor& x) {
  Tensor y = unary_forward("neg", UnaryOp::Neg, x, false);
  record_differentiable("neg", {x}, y, [](const Tensor& dy) { return TensorList{neg(dy)}; });
  return y;
}

// y = |x|;  dx = dy * sign(x)  (0 at x = 0, as PyTorch)
Tensor abs(const Tensor& x) {
  Tensor y = unary_forward("abs", UnaryOp::Abs, x, false);
  record_differentiable("abs", {x}, y, [xs = save(x)](const Tensor& dy) {
    const Tensor& x = xs.get();
    const Tensor sign = as_mask(gt(x, 0.0), x) - as_mask(lt(x, 0.0), x);
    return TensorList{dy * sign};
  });
  return y;
}

// y = e^x;  dx = dy * y
Tensor exp(const Tensor& x) {
  Tensor y = unary_forward("exp", UnaryOp::Exp, x, true);
  record_differentiable("exp", {x}, y, [ys = save_output(y)](const Tensor& dy) { return TensorList{dy * ys.get()}; });
  return y;
}

// y = ln x;  dx = dy / x
Tensor log(const Tensor& x) {
  Tensor y = unary_forward("log", UnaryOp::Log, x, true);
  record_differentiable("log", {x}, y, [xs = save(x)](const Tensor& dy) { return TensorList{dy / xs.get()}; });
  return y;
}

// y = sqrt(x);  dx = dy / (2 y)
Tensor sqrt(const Tensor& x) {
  Tensor y = unary_forward("sqrt", UnaryOp::Sqrt, x, true);
  record_differentiable("sqrt", {x}, y, [ys = save_output(y)](const Tensor& dy) { return TensorList{dy / (2.0 * ys.get())}; });
  return y;
}

// y = x^p;  dx = dy * p * x^(p-1)  (0 for p = 0, as PyTorch)
Tensor pow(const Tensor& x, double exponent) {
  Tensor y = unary_forward("pow", UnaryOp::Pow, x, true, exponent);
  record_differentiable("pow", {x}, y, [xs = save(x), exponent](const Tensor& dy) {
    // x^0 is constant: its gradient is 0 everywhere, where the formula
    // would give 0 * 0^-1 = 0 * inf = NaN at x = 0.
    if (exponent == 0.0) return TensorList{zeros_like(dy)};
    return TensorList{dy * (exponent * pow(xs.get(), exponent - 1.0))};
  });
  return y;
}

// y = max(x, 0);  dx = dy * [x > 0]
Tensor relu(const Tensor& x) {
  Tensor y = unary_forward("relu", UnaryOp::Relu, x, false);
  record_differentiable("relu", {x}, y, [ys = save_output(y)](const Tensor& dy) {
    const Tensor& y = ys.get();
    return TensorList{dy * as_mask(gt(y, 0.0), y)};
  });
  return y;
}

// y = x for x > 0, slope * x otherwise;  dx = dy * (x > 0 ? 1 : slope)
// A first-order backward runs the fused kernel (one pass, no temporaries);
// one that builds graph (create_graph) writes the same formula with recorded
// ops, where(x > 0, dy, dy * slope), so that it can be differentiated again.
// Both give the same bits (tests/test_double_backward.cpp).
Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = unary_forward("leaky_relu", UnaryOp::LeakyRelu, x, true, slope);
  record_differentiable("leaky_relu", {x}, y, [xs = save(x), slope](const Tensor& dy) {
    const Tensor& x = xs.get();
    if (grad_enabled()) return TensorList{where(gt(x, 0.0), dy, dy * slope)};
    Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
    backend(x.device()).leaky_relu_backward(x, dy, slope, dx);
    return TensorList{dx};
  });
  return y;
}

// y = 1 / (1 + e^-x);  dx = dy * y * (1 - y)
Tensor sigmoid(const Tensor& x) {
  Tensor y = unary_forward("sigmoid", UnaryOp::Sigmoid, x, true);
  record_differentiable("sigmoid", {x}, y, [ys = save_output(y)](const Tensor& dy) {
    const Tensor& y = ys.get();
    return TensorList{dy * y * (1.0 - y)};
  });
  return y;
}

// y = tanh x;  dx = dy * (1 - y^2)
Tensor tanh(const Tensor& x) {
  Tensor y = unary_forward("tanh", UnaryOp::Tanh, x, true);
  record_differentiable("tanh", {x}, y, [ys = save_output(y)](const Tensor& dy) {
    const Tensor& y = ys.get();
    return TensorList{dy * (1.0 - y * y)};
  });
  return y;
}

// y = min(max(x, lo), hi);  dx = dy * [lo <= x <= hi]  (PyTorch's convention
// at the boundaries: the gradient passes)
Tensor clamp(const Tensor& x, double min, double max) {
  check(min <= max, "clamp: min ", min, " > max ", max);
  // The kernel converts the bounds to the tensor's dtype, so a fractional
  // bound on an integer tensor would be truncated (clamp(int 0, 0.5, 3) -> 0).
  // Infinite bounds are fine: the kernel saturates them to the dtype's range.
  const auto bound_fits = [&](double bound) { return std::isinf(bound) || scalar_fits(bound, x.dtype()); };
  check(bound_fits(min) && bound_fits(max), "clamp: bounds ", min, " and ", max, " with a ", x.dtype(), " tensor ",
        x.shape(), " would be truncated; convert the tensor with to(DType::Float32)");
  Tensor y = unary_forward("clamp", UnaryOp::Clamp, x, false, min, max);
  record_differentiable("clamp", {x}, y, [xs = save(x), min, max](const Tensor& dy) {
    const Tensor& x = xs.get();
    const Tensor inside = as_mask(ge(x, min), x) * as_mask(le(x, max), x);
    return TensorList{dy * inside};
  });
  return y;
}

}  // namespace dl
