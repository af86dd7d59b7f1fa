// inplace.cpp — in-place writes: copy_, fill_, zero_, add_, mul_.
//
// They are not differentiable. They are what optimizers and initialisers
// use, inside a NoGradGuard, on parameters that require grad. Outside it, an
// in-place write to a tensor in a graph is refused: it would silently change
// the value that backward assumes. Every write bumps the storage version, so
// a tensor saved for backward and overwritten afterwards is caught too.
#include "graph/grad_mode.h"
#include "ops/ops.h"
#include "ops/view.h"
#include "tensor/backend.h"

namespace dl {

namespace {

void check_writable(const char* op, const Tensor& self) {
  check(!(grad_enabled() && self.requires_grad()), op, ": in-place write to a tensor of shape ", self.shape(),
        " that requires grad; do it inside a NoGradGuard (as an optimizer step does)");
  // An expanded tensor (stride 0 along a dim of size > 1) has many elements
  // in one memory location: add_/mul_ would apply the update once per
  // repeat (x.expand({3}).add_(1) adds 3). Refused, as in PyTorch.
  for (int64_t d = 0; d < self.dim(); ++d) {
    check(self.strides()[d] != 0 || self.shape()[d] <= 1, op, ": in-place write to an expanded tensor of shape ",
          self.shape(), " (stride 0 in dim ", d, "): several elements share one memory location; clone() it first");
  }
}

// A fractional scalar would be truncated by an integer tensor's dtype
// (int64 x.add_(y, 0.5) would add 0 * y); refuse it instead, as PyTorch does.
void check_scalar(const char* op, const Tensor& self, double value) {
  check(scalar_fits(value, self.dtype()), op, ": scalar ", value, " is not an integer, but the tensor is ",
        self.dtype());
}

// `source` cut from the graph and broadcast to self's shape; copied first if
// it shares self's storage, so that reading it while self is being written
// cannot see half-updated values.
Tensor read_side(const char* op, const Tensor& self, const Tensor& source) {
  check(source.device() == self.device(), op, ": tensors on different devices, ", self.device(), " and ",
        source.device());
  check(broadcast_shapes(op, self.shape(), source.shape()) == self.shape(), op, ": shape ", source.shape(),
        " cannot be broadcast to ", self.shape());
  const Tensor detached = source.storage() == self.storage() ? source.detach().clone() : source.detach();
  return expand_view(op, detached, self.shape());
}

// The same, for arithmetic, which also needs matching dtypes.
Tensor operand_for(const char* op, const Tensor& self, const Tensor& other) {
  check(other.dtype() == self.dtype(), op, ": dtype mismatch, ", self.dtype(), " ", self.shape(), " and ",
        other.dtype(), " ", other.shape());
  return read_side(op, self, other);
}

}  // namespace

Tensor& Tensor::copy_(const Tensor& src) {
  check_writable("copy_", *this);
  backend(device()).copy(read_side("copy_", *this, src), *this);  // any dtype converts
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::fill_(double value) {
  check_writable("fill_", *this);
  backend(device()).fill(*this, value);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_writable("add_", *this);
  check_scalar("add_", *this, alpha);
  Tensor addend = operand_for("add_", *this, other);
  if (alpha != 1.0) {
    NoGradGuard no_grad;
    addend = addend * alpha;
  }
  backend(device()).binary(BinaryOp::Add, *this, addend, *this);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::mul_(const Tensor& other) {
  check_writable("mul_", *this);
  backend(device()).binary(BinaryOp::Mul, *this, operand_for("mul_", *this, other), *this);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::mul_(double value) {
  check_scalar("mul_", *this, value);
  return mul_(full({}, value, dtype(), device()));
}

}  // namespace dl
