// loss.cpp — losses, each reduced to the mean over its N elements (rows, for
// cross_entropy) and returned as a 0-dim tensor.
//
// Each is a composite: computed with other ops under NoGradGuard and recorded
// as one Node. With L the loss and dL the incoming (0-dim) gradient:
//   binary_cross_entropy(p, t) = mean(-(t log p + (1 - t) log(1 - p))), each
//       log clamped at -100 (PyTorch), so p = 0 or 1 gives a finite loss;
//       dp = dL (p - t) / max(p (1 - p), 1e-12f) / N  (PyTorch 1.13; its EPSILON is a float)
//       dt = dL (log(1 - p) - log p) / N               (the clamped logs)
//   binary_cross_entropy_with_logits(z, t) = mean(max(z, 0) - z t + log(1 + e^-|z|))
//       dz = dL (sigmoid(z) - t) / N;  dt = -dL z / N
//   cross_entropy(logits [N, K], target int64 [N]) = -mean_i log_softmax(logits)[i, t_i]
//       dlogits = dL (softmax(logits) - one_hot(t)) / N
//   mse_loss(a, b) = mean((a - b)^2);  da = dL 2 (a - b) / N, db = -da
//   gaussian_nll(x, mu, s) = mean(s + r^2 / 2 + log(2 pi) / 2),  r = (x - mu) e^-s
//       dx = dL r e^-s / N;  dmu = -dx;  ds = dL (1 - r^2) / N
//       (x, mu, s broadcast together; N is the broadcast numel)
#include <cmath>
#include <limits>

#include "graph/grad_mode.h"
#include "graph/node.h"
#include "ops/ops.h"
#include "tensor/backend.h"

namespace dl {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Two floating tensors of the same shape, dtype and device.
void check_pair(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
  check(is_floating(a.dtype()), op, ": expected a float32 or float64 ", a_name, ", got ", a.dtype(), " ", a.shape());
  check(a.dtype() == b.dtype(), op, ": dtype mismatch, ", a_name, " ", a.dtype(), " ", a.shape(), " and ", b_name,
        " ", b.dtype(), " ", b.shape());
  check(a.device() == b.device(), op, ": ", a_name, " on ", a.device(), " and ", b_name, " on ", b.device());
  check(a.shape() == b.shape(), op, ": ", a_name, " ", a.shape(), " and ", b_name, " ", b.shape(),
        " must have the same shape");
}

// log(v) clamped below at -100, as PyTorch's binary_cross_entropy.
Tensor clamped_log(const Tensor& v) { return clamp(log(v), -100.0, kInf); }

// The incoming 0-dim gradient divided by n, to broadcast over the elements.
Tensor per_element(const Tensor& dl, double n) { return dl / n; }

}  // namespace

Tensor binary_cross_entropy(const Tensor& p, const Tensor& target) {
  check_pair("binary_cross_entropy", "input", p, "target", target);
  const double n = static_cast<double>(p.numel());
  Tensor loss;
  {
    NoGradGuard no_grad;  // recorded below as one "binary_cross_entropy" node
    // NaN fails too (as PyTorch). On a GPU the check raises at the next read.
    backend(p.device()).check_range(
        p, 0.0, 1.0, concat("binary_cross_entropy: all elements of input should be between 0 and 1 (input ", p.shape(), ")"));
    loss = neg(sum(target * clamped_log(p) + (1.0 - target) * clamped_log(1.0 - p))) / n;
  }
  // The backward uses only the inputs (the logs are computed again for a
  // target gradient), so a backward that builds graph can differentiate it.
  record_differentiable("binary_cross_entropy", {p, target}, loss,
                        [ps = save(p), ts = save(target), n, need_t = target.requires_grad()](const Tensor& dl) {
                          const Tensor &p = ps.get(), &t = ts.get();
                          const Tensor g = per_element(dl, n);
                          // PyTorch clamps with its float constant EPSILON = 1e-12f (9.99999996e-13 as a double).
                          const Tensor dp = g * (p - t) / clamp((1.0 - p) * p, static_cast<double>(1e-12f), kInf);
                          return TensorList{dp, need_t ? g * (clamped_log(1.0 - p) - clamped_log(p)) : Tensor()};
                        });
  return loss;
}

Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& target) {
  check_pair("binary_cross_entropy_with_logits", "input", z, "target", target);
  const double n = static_cast<double>(z.numel());
  Tensor loss;
  {
    NoGradGuard no_grad;  // recorded below as one "binary_cross_entropy_with_logits" node
    loss = sum(relu(z) - z * target + log(1.0 + exp(neg(abs(z))))) / n;
  }
  record_differentiable("binary_cross_entropy_with_logits", {z, target}, loss,
         [zs = save(z), ts = save(target), n, need_t = target.requires_grad()](const Tensor& dl) {
           const Tensor &z = zs.get(), &t = ts.get();
           const Tensor g = per_element(dl, n);
           return TensorList{g * (sigmoid(z) - t), need_t ? neg(g * z) : Tensor()};
         });
  return loss;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target) {
  check(is_floating(logits.dtype()), "cross_entropy: expected float32 or float64 logits, got ", logits.dtype(), " ",
        logits.shape());
  check(logits.dim() == 2, "cross_entropy: expected logits [N, K], got ", logits.shape());
  check(target.dtype() == DType::Int64, "cross_entropy: expected int64 class indices as target, got ", target.dtype(),
        " ", target.shape());
  check(target.shape() == Shape{logits.size(0)}, "cross_entropy: target ", target.shape(), " does not match logits ",
        logits.shape(), " (expected [", logits.size(0), "])");
  check(target.device() == logits.device(), "cross_entropy: logits on ", logits.device(), ", target on ",
        target.device());
  const int64_t k = logits.size(1);
  // On a GPU the check raises at the next read back to the host.
  backend(target.device())
      .check_range(target, 0.0, static_cast<double>(k - 1),
                   concat("cross_entropy: a target index is out of range for ", k, " classes (logits ", logits.shape(),
                          ")"));
  const double n = static_cast<double>(logits.size(0));
  Tensor loss;
  {
    NoGradGuard no_grad;  // recorded below as one "cross_entropy" node
    loss = neg(sum(log_softmax(logits, 1) * one_hot(target, k).to(logits.dtype()))) / n;
  }
  // The backward computes log_softmax again from the logits (the same op, so
  // the same values): recorded, it makes the backward differentiable.
  record_differentiable("cross_entropy", {logits, target}, loss,
                        [ls = save(logits), ts = save(target), n, k](const Tensor& dl) {
                          const Tensor& logits = ls.get();
                          const Tensor one_hot_t = one_hot(ts.get(), k).to(logits.dtype());
                          return TensorList{per_element(dl, n) * (exp(log_softmax(logits, 1)) - one_hot_t), Tensor()};
                        });
  return loss;
}

Tensor mse_loss(const Tensor& a, const Tensor& b) {
  check_pair("mse_loss", "input", a, "target", b);
  const double n = static_cast<double>(a.numel());
  Tensor loss;
  {
    NoGradGuard no_grad;  // recorded below as one "mse_loss" node
    const Tensor diff = a - b;
    loss = sum(diff * diff) / n;
  }
  record_differentiable("mse_loss", {a, b}, loss, [as = save(a), bs = save(b), n](const Tensor& dl) {
    const Tensor da = per_element(dl, n) * 2.0 * (as.get() - bs.get());
    return TensorList{da, neg(da)};
  });
  return loss;
}

Tensor gaussian_nll(const Tensor& x, const Tensor& mean_, const Tensor& log_std) {
  const char* op = "gaussian_nll";
  for (const Tensor* t : {&x, &mean_, &log_std}) {
    check(is_floating(t->dtype()), op, ": expected float32 or float64 tensors, got ", t->dtype(), " ", t->shape());
    check(t->dtype() == x.dtype(), op, ": dtype mismatch, x ", x.dtype(), " ", x.shape(), ", mean ", mean_.dtype(),
          " ", mean_.shape(), ", log_std ", log_std.dtype(), " ", log_std.shape());
    check(t->device() == x.device(), op, ": tensors on different devices, x on ", x.device(), ", mean on ",
          mean_.device(), ", log_std on ", log_std.device());
  }
  const Shape shape = broadcast_shapes(op, broadcast_shapes(op, x.shape(), mean_.shape()), log_std.shape());
  const double n = static_cast<double>(shape_numel(shape));
  constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(2 pi) / 2
  Tensor loss;
  {
    NoGradGuard no_grad;  // recorded below as one "gaussian_nll" node
    const Tensor r = (x - mean_) * exp(neg(log_std));  // broadcast shape
    loss = sum(log_std + 0.5 * r * r) / n + kHalfLog2Pi;  // the sum's operand has the broadcast shape
  }
  // The backward computes 1 / std and r again from the inputs (the same ops,
  // so the same values): recorded, they make it differentiable.
  record_differentiable("gaussian_nll", {x, mean_, log_std}, loss,
                        [xs = save(x), ms = save(mean_), ls = save(log_std), sx = x.shape(), sm = mean_.shape(),
                         ss = log_std.shape(), n](const Tensor& dl) {
                          const Tensor inv_std = exp(neg(ls.get()));
                          const Tensor r = (xs.get() - ms.get()) * inv_std;
                          const Tensor g = per_element(dl, n);
                          const Tensor dx = g * r * inv_std;  // broadcast shape
                          return TensorList{sum_to(dx, sx), sum_to(neg(dx), sm), sum_to(g * (1.0 - r * r), ss)};
                        });
  return loss;
}

}  // namespace dl
