// binary.cpp — element-wise binary ops with NumPy broadcasting, comparisons
// and where.
//
// Broadcasting in backward: if a of shape [3] was broadcast against b of
// shape [2, 3], each a[j] influenced two outputs, so its gradient is the sum
// of those two output gradients: da = sum_to(dL/dout, a.shape).
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "graph/node.h"
#include "ops/ops.h"
#include "ops/view.h"
#include "tensor/backend.h"

namespace dl {

namespace {

void check_same_dtype_and_device(const char* op, const Tensor& a, const Tensor& b) {
  check(a.dtype() == b.dtype(), op, ": dtype mismatch, ", a.dtype(), " ", a.shape(), " and ", b.dtype(), " ",
        b.shape(), " (convert one with to())");
  check(a.device() == b.device(), op, ": tensors on different devices, ", a.device(), " ", a.shape(), " and ",
        b.device(), " ", b.shape());
}

// Broadcasts a and b to their common shape and runs the kernel.
Tensor binary_forward(const char* op_name, BinaryOp op, const Tensor& a, const Tensor& b, DType out_dtype) {
  check_same_dtype_and_device(op_name, a, b);
  const Shape shape = broadcast_shapes(op_name, a.shape(), b.shape());
  Tensor out = Tensor::empty(shape, out_dtype, a.device());
  backend(a.device()).binary(op, expand_view(op_name, a, shape), expand_view(op_name, b, shape), out);
  return out;
}

Tensor arithmetic_forward(const char* op_name, BinaryOp op, const Tensor& a, const Tensor& b) {
  check(a.dtype() != DType::Bool, op_name, ": not defined for bool tensors (", a.shape(), " and ", b.shape(), ")");
  return binary_forward(op_name, op, a, b, a.dtype());
}

Tensor comparison(const char* op_name, BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(op_name, op, a, b, DType::Bool);
  mark_non_differentiable(op_name, {a, b}, out);
  return out;
}

// A 0-dim tensor holding `value`, made once per (value, dtype, device) and
// shared: scalar operands are only ever read, and on a GPU each fresh one
// would cost a fill kernel per scalar op (a BatchNorm-sized layer has
// several). Not cached while a CUDA graph is being captured: a tensor made
// then is only filled when the graph replays. The cache is bounded, and
// never destroyed (its tensors may outlive the backends' statics at exit).
Tensor constant(double value, DType dtype, Device device) {
  using Key = std::tuple<uint64_t, int, int, int>;
  static auto* cache = new std::map<Key, Tensor>();
  static std::mutex mutex;
  constexpr size_t kMaxConstants = 4096;
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  const Key key = {bits, static_cast<int>(dtype), static_cast<int>(device.type), device.index};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  const Tensor made = full({}, value, dtype, device);
  if (cache->size() < kMaxConstants && !backend(device).capturing()) cache->emplace(key, made);
  return made;
}

// A scalar operand as a 0-dim tensor of the tensor operand's dtype. A
// fractional (or infinite, or beyond int64) scalar with an integer tensor
// would be silently changed, so it is refused.
Tensor scalar_operand(const char* op, const Tensor& like, double value) {
  check(scalar_fits(value, like.dtype()), op, ": scalar ", value, " with a ", like.dtype(), " tensor ", like.shape(),
        " would be truncated; convert the tensor with to(DType::Float32)");
  return constant(value, like.dtype(), like.device());
}

}  // namespace

// out = a + b;  da = sum_to(dout, a.shape), db = sum_to(dout, b.shape)
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = arithmetic_forward("add", BinaryOp::Add, a, b);
  record_differentiable("add", {a, b}, out, [sa = a.shape(), sb = b.shape()](const Tensor& dout) {
    return TensorList{sum_to(dout, sa), sum_to(dout, sb)};
  });
  return out;
}

// out = a - b;  da = sum_to(dout), db = -sum_to(dout)
Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = arithmetic_forward("sub", BinaryOp::Sub, a, b);
  record_differentiable("sub", {a, b}, out, [sa = a.shape(), sb = b.shape()](const Tensor& dout) {
    return TensorList{sum_to(dout, sa), neg(sum_to(dout, sb))};
  });
  return out;
}

// out = a * b;  da = sum_to(dout * b), db = sum_to(dout * a)
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = arithmetic_forward("mul", BinaryOp::Mul, a, b);
  record_differentiable("mul", {a, b}, out, [as = save(a), bs = save(b)](const Tensor& dout) {
    const Tensor &a = as.get(), &b = bs.get();
    return TensorList{sum_to(dout * b, a.shape()), sum_to(dout * a, b.shape())};
  });
  return out;
}

// out = a / b;  da = sum_to(dout / b), db = sum_to(-dout * a / b^2)
Tensor div(const Tensor& a, const Tensor& b) {
  check(is_floating(a.dtype()), "div: expected floating tensors, got ", a.dtype(), " ", a.shape(), " and ", b.dtype(),
        " ", b.shape(), " (integer division is not supported; convert with to(DType::Float32))");
  Tensor out = arithmetic_forward("div", BinaryOp::Div, a, b);
  record_differentiable("div", {a, b}, out, [as = save(a), bs = save(b)](const Tensor& dout) {
    const Tensor &a = as.get(), &b = bs.get();
    return TensorList{sum_to(dout / b, a.shape()), sum_to(neg(dout * a / (b * b)), b.shape())};
  });
  return out;
}

Tensor eq(const Tensor& a, const Tensor& b) { return comparison("eq", BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return comparison("ne", BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return comparison("lt", BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return comparison("le", BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return comparison("gt", BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return comparison("ge", BinaryOp::Ge, a, b); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_operand("eq", a, b)); }
Tensor ne(const Tensor& a, double b) { return ne(a, scalar_operand("ne", a, b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_operand("lt", a, b)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_operand("le", a, b)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_operand("gt", a, b)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_operand("ge", a, b)); }

// out = cond ? a : b;  da = sum_to(cond ? dout : 0), db = sum_to(cond ? 0 : dout)
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check(cond.dtype() == DType::Bool, "where: condition must be bool, got ", cond.dtype(), " ", cond.shape());
  check_same_dtype_and_device("where", a, b);
  check(cond.device() == a.device(), "where: condition on ", cond.device(), ", values on ", a.device());
  const Shape shape = broadcast_shapes("where", broadcast_shapes("where", cond.shape(), a.shape()), b.shape());
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  backend(a.device())
      .where(expand_view("where", cond, shape), expand_view("where", a, shape), expand_view("where", b, shape), out);
  record_differentiable("where", {cond, a, b}, out, [cs = save(cond), sa = a.shape(), sb = b.shape()](const Tensor& dout) {
    const Tensor zero = zeros({}, dout.dtype(), dout.device());
    return TensorList{Tensor(), sum_to(where(cs.get(), dout, zero), sa), sum_to(where(cs.get(), zero, dout), sb)};
  });
  return out;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_operand("add", a, b)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_operand("sub", a, b)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_operand("mul", a, b)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_operand("div", a, b)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_operand("add", b, a), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_operand("sub", b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_operand("mul", b, a), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_operand("div", b, a), b); }

}  // namespace dl
