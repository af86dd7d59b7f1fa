// gradcheck.cpp — see gradcheck.h.
#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/grad.h"
#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

std::string GradcheckResult::str() const {
  std::ostringstream os;
  os << (passed ? "passed" : "FAILED") << ": max abs error " << max_abs_error << ", max rel error " << max_rel_error
     << "; worst at input " << input << " element " << element << " output " << output << " (analytic " << analytic
     << ", numeric " << numeric << ")";
  return os.str();
}

GradcheckResult gradcheck(const std::function<Tensor(const TensorList&)>& fn, const TensorList& inputs,
                          const GradcheckOptions& options) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    check(x.dtype() == DType::Float64 && x.is_leaf() && x.is_contiguous() && x.device().is_cpu(),
          "gradcheck: input ", i, " must be a contiguous float64 CPU leaf, got ", x.dtype(), " ", x.shape());
  }
  std::vector<Tensor> saved_grads;
  for (const Tensor& x : inputs) saved_grads.push_back(x.grad());

  // Analytic Jacobian, one row per output element: backward with a one-hot
  // gradient through a graph built once and retained.
  const Tensor output = fn(inputs);
  check(output.dtype() == DType::Float64, "gradcheck: fn must return float64, got ", output.dtype());
  const int64_t outputs = output.numel();
  std::vector<std::vector<std::vector<double>>> analytic(inputs.size());  // [input][output][element]
  for (size_t i = 0; i < inputs.size(); ++i) {
    analytic[i].assign(outputs, std::vector<double>(inputs[i].numel(), 0.0));
  }
  if (output.requires_grad()) {
    for (int64_t o = 0; o < outputs; ++o) {
      for (const Tensor& x : inputs) x.zero_grad();
      Tensor seed = zeros(output.shape(), DType::Float64);
      seed.data<double>()[o] = 1.0;
      output.backward(seed, /*retain_graph=*/true);
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].grad().defined()) analytic[i][o] = inputs[i].grad().to_vector<double>();
      }
    }
  }

  // Numeric Jacobian, one column per input element, compared as it is made.
  GradcheckResult result;
  double worst_margin = -INFINITY;  // error minus allowed error; > 0 fails
  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    double* x = inputs[i].data<double>();
    for (int64_t e = 0; e < inputs[i].numel(); ++e) {
      const double original = x[e];
      x[e] = original + options.eps;
      const std::vector<double> plus = fn(inputs).to_vector<double>();
      x[e] = original - options.eps;
      const std::vector<double> minus = fn(inputs).to_vector<double>();
      x[e] = original;
      for (int64_t o = 0; o < outputs; ++o) {
        const double numeric = (plus[o] - minus[o]) / (2 * options.eps);
        const double a = analytic[i][o][e];
        const double error = std::fabs(a - numeric);
        result.max_abs_error = std::fmax(result.max_abs_error, error);
        if (numeric != 0) result.max_rel_error = std::fmax(result.max_rel_error, error / std::fabs(numeric));
        const double margin = error - (options.atol + options.rtol * std::fabs(numeric));
        // !(margin <= 0) also catches NaN in either Jacobian.
        if (!(margin <= 0)) result.passed = false;
        if (margin > worst_margin || std::isnan(margin)) {
          worst_margin = std::isnan(margin) ? INFINITY : margin;
          result.input = i;
          result.element = e;
          result.output = o;
          result.analytic = a;
          result.numeric = numeric;
        }
      }
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) inputs[i].set_grad(saved_grads[i]);
  return result;
}

GradcheckResult gradgradcheck(const std::function<Tensor(const TensorList&)>& fn, const TensorList& inputs,
                              const GradcheckOptions& options, uint64_t seed) {
  Shape output_shape;
  {
    NoGradGuard no_grad;
    output_shape = fn(inputs).shape();
  }
  Generator generator(seed);
  const Tensor v = randn(output_shape, DType::Float64, &generator);
  // g(inputs): the gradients of <fn(inputs), v> for the inputs that require
  // grad, flattened into one vector (zeros where fn does not use an input).
  // Grad mode is on inside, also when gradcheck evaluates g for its finite
  // differences, because g is itself a backward pass.
  const auto vjp = [&](const TensorList& xs) {
    const EnableGradGuard grad_mode(true);
    TensorList wrt;
    for (const Tensor& x : xs) {
      if (x.requires_grad()) wrt.push_back(x);
    }
    GradOptions with_graph;
    with_graph.create_graph = true;
    with_graph.allow_unused = true;
    const TensorList gradients = grad({fn(xs)}, wrt, {v}, with_graph);
    TensorList flat;
    for (size_t i = 0; i < wrt.size(); ++i) {
      flat.push_back(gradients[i].defined() ? gradients[i].reshape({-1}) : zeros({wrt[i].numel()}, DType::Float64));
    }
    return cat(flat, 0);
  };
  return gradcheck(vjp, inputs, options);
}

}  // namespace dl
