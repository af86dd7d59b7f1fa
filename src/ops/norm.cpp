// norm.cpp — batch normalisation and dropout.
//
// Each is recorded as one Node whose backward is written out below.
// batch_norm runs on three fused kernels (backend.h: batch_norm_stats,
// batch_norm_elemt, batch_norm_backward_reduce), one pass over x each;
// dropout is a composite of other ops.
//
// batch_norm, per channel c (dim 1), over the M = numel / C elements of the
// other dims:
//   training:  mean, var = biased batch statistics, invstd = 1 / sqrt(var + eps)
//              xhat = (x - mean) * invstd;  y = weight * xhat + bias
//              dx = (weight * invstd / M) * (M dy - sum(dy) - xhat * sum(dy * xhat))
//              dweight = sum(dy * xhat);  dbias = sum(dy)
//              running_mean = (1 - momentum) running_mean + momentum mean
//              running_var  = (1 - momentum) running_var  + momentum var * M / (M - 1)
//   eval:      the same with running_mean / running_var as constants:
//              dx = dy * weight * invstd
// With scale = weight * invstd the kernels compute y = (x - mean) * scale + bias
// and, from sum(dy) and sum(dy * (x - mean)) = sum(dy * xhat) / invstd,
//   dx = dy * scale + (x - mean) * (-scale * invstd * sum(dy * xhat) / M) - scale * sum(dy) / M.
// dropout (inverted): mask = [u < 1 - p] with u ~ U[0, 1) from Philox;
//   y = x * mask / (1 - p);  dx = dy * mask / (1 - p).
#include <cmath>

#include <optional>

#include "graph/grad_mode.h"
#include "graph/node.h"
#include "ops/ops.h"
#include "tensor/backend.h"

namespace dl {

namespace {

// A per-channel tensor ([C]) of batch_norm: undefined is allowed when
// `optional`; otherwise it must be [C] with x's dtype and device.
void check_channel_tensor(const char* what, const Tensor& t, const Tensor& x, int64_t channels, bool optional) {
  if (!t.defined()) {
    check(optional, "batch_norm: ", what, " is required in eval mode (input ", x.shape(), ")");
    return;
  }
  check(t.shape() == Shape{channels}, "batch_norm: ", what, " has shape ", t.shape(), ", expected [", channels,
        "] for input ", x.shape());
  check(t.dtype() == x.dtype(), "batch_norm: ", what, " has dtype ", t.dtype(), ", input has ", x.dtype());
  check(t.device() == x.device(), "batch_norm: ", what, " is on ", t.device(), ", input on ", x.device());
}

// batch_norm's gradients written with recorded ops, for a backward that
// builds graph. With x_hat = (x - mean) * invstd and g = dy * weight:
//   training:  dx = invstd * (g - mean(g) - x_hat * mean(g * x_hat))  (means over all dims but 1),
//              mean and invstd computed again from x, since they depend on it
//   eval:      dx = g * invstd, with the running statistics (constants)
//   dweight = sum(dy * x_hat),  dbias = sum(dy)
TensorList batch_norm_backward_recorded(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                                        bool training, const Tensor& eval_mean, const Tensor& eval_invstd,
                                        double eps) {
  Shape stat_shape(static_cast<size_t>(x.dim()), 1);
  stat_shape[1] = x.size(1);
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d != 1) dims.push_back(d);
  }
  Tensor centered, invstd;
  if (training) {
    centered = x - mean(x, dims, true);
    invstd = 1.0 / sqrt(mean(centered * centered, dims, true) + eps);
  } else {
    centered = x - eval_mean.reshape(stat_shape);
    invstd = eval_invstd.reshape(stat_shape);
  }
  const Tensor x_hat = centered * invstd;
  const Tensor g = weight.defined() ? dy * weight.reshape(stat_shape) : dy;
  TensorList grads;
  grads.push_back(training ? invstd * (g - mean(g, dims, true) - x_hat * mean(g * x_hat, dims, true)) : g * invstd);
  if (weight.defined()) grads.push_back(sum(dy * x_hat, dims));
  if (has_bias) grads.push_back(sum(dy, dims));
  return grads;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  check(is_floating(x.dtype()), "batch_norm: expected a float32 or float64 tensor, got ", x.dtype(), " ", x.shape());
  check(x.dim() >= 2, "batch_norm: expected an input [N, C] or [N, C, ...], got ", x.shape());
  check(eps >= 0, "batch_norm: eps must be >= 0, got ", eps);
  const int64_t channels = x.size(1);
  const int64_t m = channels == 0 ? 0 : x.numel() / channels;  // elements per channel
  check_channel_tensor("running_mean", running_mean, x, channels, training);
  check_channel_tensor("running_var", running_var, x, channels, training);
  check_channel_tensor("weight", weight, x, channels, true);
  check_channel_tensor("bias", bias, x, channels, true);
  check(running_mean.defined() == running_var.defined(),
        "batch_norm: give both running_mean and running_var, or neither");
  if (training) {
    // As PyTorch: a variance of one value per channel is meaningless.
    check(m > 1, "batch_norm: expected more than 1 value per channel when training, got input ", x.shape());
  }

  // Per-channel tensors [C] are viewed as [1, C, 1, ...] to broadcast against x.
  Shape stat_shape(static_cast<size_t>(x.dim()), 1);
  stat_shape[1] = channels;
  const double count = static_cast<double>(m);
  Backend& kernels = backend(x.device());
  const auto per_channel = [&] { return Tensor::empty({channels}, x.dtype(), x.device()); };

  Tensor y, mean, invstd = per_channel(), scale = per_channel();  // scale = weight * invstd, [C]
  {
    NoGradGuard no_grad;  // recorded below as one "batch_norm" node
    Tensor var;
    if (training) {
      mean = per_channel();
      var = per_channel();  // biased: normalises the batch
      kernels.batch_norm_stats(x, mean, var);
    } else {
      mean = running_mean.clone();  // a later training step updates the buffer in place
      var = running_var.contiguous();
    }
    // invstd, scale and (training) the running statistics, in place, in one pass.
    const bool update_running = training && running_mean.defined();
    kernels.batch_norm_forward_params(mean, var, weight.defined() ? weight.contiguous() : Tensor(),
                                      update_running ? running_mean : Tensor(),
                                      update_running ? running_var : Tensor(), eps, momentum, count, invstd, scale);
    if (update_running) {
      running_mean.storage()->bump_version();
      running_var.storage()->bump_version();
    }
    const Tensor shift = bias.defined() ? bias : zeros({channels}, x.dtype(), x.device());
    y = Tensor::empty(x.shape(), x.dtype(), x.device());
    kernels.batch_norm_elemt(x, mean, scale, shift, Tensor(), Tensor(), y);
  }

  TensorList inputs = {x};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  // A first-order backward runs the fused kernels below. One that builds
  // graph (create_graph) computes the same gradients with recorded ops
  // (batch_norm_backward_recorded), so that they can be differentiated again.
  record_differentiable(
      "batch_norm", inputs, y,
      [xs = save(x), means = save(mean), invstds = save(invstd), scales = save(scale),
       ws = weight.defined() ? std::optional<SavedTensor>(save(weight)) : std::nullopt, has_bias = bias.defined(),
       training, count, stat_shape, eps](const Tensor& dy) {
           if (grad_enabled()) {
             return batch_norm_backward_recorded(dy, xs.get(), ws ? ws->get() : Tensor(), has_bias, training,
                                                 means.get(), invstds.get(), eps);
           }
           const bool has_weight = ws.has_value();
           const Tensor& x = xs.get();
           const Tensor& mean = means.get();
           const Tensor& invstd = invstds.get();
           const Tensor& scale = scales.get();
           const int64_t channels = x.size(1);
           Backend& kernels = backend(x.device());
           const Tensor sum_dy = Tensor::empty({channels}, x.dtype(), x.device());
           const Tensor sum_dy_xmu = Tensor::empty({channels}, x.dtype(), x.device());
           kernels.batch_norm_backward_reduce(dy, x, mean, sum_dy, sum_dy_xmu);
           const Tensor sum_dy_xhat = Tensor::empty({channels}, x.dtype(), x.device());
           const Tensor xmu_coef = Tensor::empty({channels}, x.dtype(), x.device());
           const Tensor const_coef = Tensor::empty({channels}, x.dtype(), x.device());
           kernels.batch_norm_backward_params(sum_dy, sum_dy_xmu, invstd, scale, count, sum_dy_xhat, xmu_coef,
                                              const_coef);
           TensorList grads;
           if (training) {
             // dx = dy * scale + (x - mean) * (-scale * invstd * sum_dy_xhat / M) - scale * sum_dy / M
             Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
             kernels.batch_norm_elemt(x, mean, xmu_coef, const_coef, dy, scale, dx);
             grads.push_back(dx);
           } else {
             grads.push_back(dy * scale.reshape(stat_shape));
           }
           if (has_weight) grads.push_back(sum_dy_xhat);
           if (has_bias) grads.push_back(sum_dy);
           return grads;
         });
  return y;
}

// y = (x - m) / sqrt(v + eps) * w + b over the last k dims, with m and v
// their mean and biased variance. Written with mean, sub, mul, add, sqrt and
// div rather than as one Node: its gradient is theirs, and so is the
// gradient of that gradient (a critic's gradient penalty needs it).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  check(k >= 1 && x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape,
        "layer_norm: input of shape ", x.shape(), " does not end with normalized_shape ", normalized_shape);
  check(is_floating(x.dtype()), "layer_norm: expected a floating tensor, got ", x.dtype(), " ", x.shape());
  for (const Tensor* param : {&weight, &bias}) {
    if (param->defined()) {
      check(param->shape() == normalized_shape, "layer_norm: weight and bias must have shape ", normalized_shape,
            ", got ", param->shape());
    }
  }
  check(eps >= 0, "layer_norm: eps must be >= 0, got ", eps);
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  const Tensor centered = x - mean(x, dims, true);
  Tensor y = centered / sqrt(mean(centered * centered, dims, true) + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  check(is_floating(x.dtype()), "dropout: expected a float32 or float64 tensor, got ", x.dtype(), " ", x.shape());
  check(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;  // identity, as PyTorch (no draw)
  Tensor y, scaled_mask;
  {
    NoGradGuard no_grad;  // recorded below as one "dropout" node
    if (p == 1.0) {
      scaled_mask = zeros_like(x);  // everything dropped; no draw, as PyTorch
    } else {
      const Tensor u = rand(x.shape(), x.dtype(), generator, x.device());  // the CPU's numbers on any device
      scaled_mask = lt(u, 1.0 - p).to(x.dtype()) * (1.0 / (1.0 - p));
    }
    y = x * scaled_mask;
  }
  record_differentiable("dropout", {x}, y, [masks = save(scaled_mask)](const Tensor& dy) { return TensorList{dy * masks.get()}; });
  return y;
}

}  // namespace dl
