// adam_math.h — one Adam update of one element, shared by the CPU kernel
// (tensor/cpu/optim.cpp) and the CUDA kernel (tensor/cuda/optim.cu), so that
// both compute the same float32 operations in the same order and agree bit
// for bit with each other and with the unfused tensor-op formulation that
// came before them (and PyTorch's single-tensor Adam), in float32 and
// (on the CPU) float64:
//   g  = grad + wd * p                          (only when wd != 0)
//   m  = b1 * m + (1 - b1) * g
//   v  = b2 * v + (1 - b2) * g * g
//   p += -step_size * m / (sqrt(v) / sqrt(1 - b2^t) + eps),  step_size = lr / (1 - b1^t)
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/host_device.h"
#include "tensor/rounding.h"

namespace dl {

// The learning rate of update t (t = 1, 2, ...) when it is cosine-annealed
// to 0 over `cosine_steps` updates (0: constant lr):
//   lr * (1 + cos(pi * p)) / 2,  p = min(1, (t - 1) / cosine_steps)
// A function of the update counter, which lives on the device: a schedule
// computed here is replayed correctly from a CUDA graph, where a rate set
// from the host each step would be frozen at capture.
DL_HOST_DEVICE inline double scheduled_lr(double lr, int64_t step, int64_t cosine_steps) {
  using ::cos;
  using ::fmin;
  if (cosine_steps <= 0) return lr;
  const double progress = fmin(1.0, static_cast<double>(step - 1) / static_cast<double>(cosine_steps));
  return lr * 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
}

// The scalars of update t for parameters of type T (float or double),
// computed in double and rounded to T once, as the tensor ops rounded their
// scalar operands. On a GPU each block computes them from the step counter
// it reads on the device (Backend::adam_step).
template <typename T>
struct AdamConstants {
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T weight_decay, bias_correction2_sqrt, eps, neg_step_size;
  bool decay;  // weight_decay != 0: the decay term is skipped entirely otherwise
};

template <typename T>
DL_HOST_DEVICE AdamConstants<T> adam_constants(int64_t step, double lr, int64_t cosine_steps, double beta1,
                                               double beta2, double eps, double weight_decay) {
  using ::pow;  // the global double overloads exist on the host and the device
  using ::sqrt;
  const double t = static_cast<double>(step);
  return {static_cast<T>(beta1),
          static_cast<T>(1 - beta1),
          static_cast<T>(beta2),
          static_cast<T>(1 - beta2),
          static_cast<T>(weight_decay),
          static_cast<T>(sqrt(1 - pow(beta2, t))),
          static_cast<T>(eps),
          static_cast<T>(-(scheduled_lr(lr, step, cosine_steps) / (1 - pow(beta1, t)))),
          weight_decay != 0};
}

template <typename T>
DL_HOST_DEVICE inline void adam_update(T& p, T grad, T& m, T& v, const AdamConstants<T>& c) {
  const T g = c.decay ? rn_add(grad, rn_mul(p, c.weight_decay)) : grad;
  m = rn_add(rn_mul(m, c.beta1), rn_mul(g, c.one_minus_beta1));
  v = rn_add(rn_mul(v, c.beta2), rn_mul(rn_mul(g, g), c.one_minus_beta2));
  const T denom = rn_add(rn_div(rn_sqrt(v), c.bias_correction2_sqrt), c.eps);
  p = rn_add(p, rn_mul(rn_div(m, denom), c.neg_step_size));
}

}  // namespace dl
