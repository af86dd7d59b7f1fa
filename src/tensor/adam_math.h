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

namespace dl {

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
DL_HOST_DEVICE AdamConstants<T> adam_constants(int64_t step, double lr, double beta1, double beta2, double eps,
                                               double weight_decay) {
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
          static_cast<T>(-(lr / (1 - pow(beta1, t)))),
          weight_decay != 0};
}

// nvcc contracts a * b + c into one FMA (one rounding instead of two); the
// host compiler, without -mfma, does not. The _rn intrinsics forbid the
// contraction on the device, so both sides round after every operation.
// (CUDA tensors are never float64, so the device needs only float.)
#if defined(__CUDA_ARCH__)
DL_HOST_DEVICE inline float adam_mul(float a, float b) { return __fmul_rn(a, b); }
DL_HOST_DEVICE inline float adam_add(float a, float b) { return __fadd_rn(a, b); }
DL_HOST_DEVICE inline float adam_div(float a, float b) { return __fdiv_rn(a, b); }
DL_HOST_DEVICE inline float adam_sqrt(float a) { return __fsqrt_rn(a); }
#else
template <typename T> T adam_mul(T a, T b) { return a * b; }
template <typename T> T adam_add(T a, T b) { return a + b; }
template <typename T> T adam_div(T a, T b) { return a / b; }
template <typename T> T adam_sqrt(T a) { return std::sqrt(a); }
#endif

template <typename T>
DL_HOST_DEVICE inline void adam_update(T& p, T grad, T& m, T& v, const AdamConstants<T>& c) {
  const T g = c.decay ? adam_add(grad, adam_mul(p, c.weight_decay)) : grad;
  m = adam_add(adam_mul(m, c.beta1), adam_mul(g, c.one_minus_beta1));
  v = adam_add(adam_mul(v, c.beta2), adam_mul(adam_mul(g, g), c.one_minus_beta2));
  const T denom = adam_add(adam_div(adam_sqrt(v), c.bias_correction2_sqrt), c.eps);
  p = adam_add(p, adam_mul(adam_div(m, denom), c.neg_step_size));
}

}  // namespace dl
