// penalties.cpp — see penalties.h.
#include "common/penalties.h"

#include "autograd/grad.h"
#include "ops/ops.h"

namespace dl {

Tensor penalty_input(const Tensor& images) {
  Tensor input = images.detach();
  input.set_requires_grad(true);
  return input;
}

Tensor input_gradient_sq_norm(const Tensor& outputs, const Tensor& inputs) {
  check(inputs.requires_grad(), "input_gradient_sq_norm: the inputs must require grad");
  check(outputs.dim() == 1 && inputs.dim() >= 2 && outputs.size(0) == inputs.size(0),
        "input_gradient_sq_norm: expected outputs [N] of inputs [N, ...], got ", outputs.shape(), " and ",
        inputs.shape());
  GradOptions options;
  options.create_graph = true;  // the penalty is differentiated again
  const Tensor g = grad({sum(outputs)}, {inputs}, {}, options)[0];
  std::vector<int64_t> sample_dims;
  for (int64_t d = 1; d < g.dim(); ++d) sample_dims.push_back(d);
  return sum(g * g, sample_dims);
}

Tensor r1_penalty(const Tensor& logits, const Tensor& real) { return mean(input_gradient_sq_norm(logits, real)); }

Tensor wgan_gradient_penalty(const Tensor& scores, const Tensor& mixed) {
  // ||g|| = sqrt(||g||^2 + 1e-12): the epsilon keeps the square root's
  // derivative finite where a gradient vanishes, and is far below float
  // rounding elsewhere.
  const Tensor norm = sqrt(input_gradient_sq_norm(scores, mixed) + 1e-12);
  const Tensor gap = norm - 1.0;
  return mean(gap * gap);
}

std::vector<ConfigEntry> r1_config_entries(double* gamma, int64_t* every) {
  return {
      ConfigEntry("r1", gamma, "--r1",
                  "R1 penalty on D: gamma / 2 * mean ||d logit D(x) / dx||^2 over real images (0: off)",
                  Range::at_least(0))
          .added_later(0.0),
      ConfigEntry("r1_every", every, "--r1-every",
                  "apply R1 every N iterations only, at N times its weight (lazy regularisation)",
                  Range::at_least(1))
          .added_later(int64_t{1}),
  };
}

bool r1_due(double gamma, int64_t every, int64_t iteration) { return gamma > 0 && iteration % every == 0; }

double r1_weight(double gamma, int64_t every) { return gamma / 2 * static_cast<double>(every); }

}  // namespace dl
