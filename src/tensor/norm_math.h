// norm_math.h — batch_norm's per-channel scalars, one channel at a time,
// and its element-wise normalization, one element at a time, shared by the
// CPU (tensor/cpu/norm.cpp) and CUDA (tensor/cuda/norm.cu) kernels of
// Backend::batch_norm_forward_params / _backward_params / batch_norm_elemt,
// so that both round alike (tensor/rounding.h). ops/norm.cpp computed the
// scalars before with a dozen tensor ops per layer (a kernel launch each on
// a GPU); the operations and their order are the same.
//   forward:   invstd = 1 / sqrt(var + eps),  scale = invstd * weight  (invstd without a weight)
//              running_mean = running_mean * (1 - momentum) + mean * momentum
//              running_var  = running_var  * (1 - momentum) + var * (momentum * count / (count - 1))
//   backward:  sum_dy_xhat = sum_dy_xmu * invstd
//              xmu_coef    = scale * invstd * sum_dy_xhat * (-1 / count)
//              const_coef  = scale * sum_dy * (-1 / count)
//   so that dx = dy * scale + (x - mean) * xmu_coef + const_coef.
//   elemt:     out = (x - mean) * scale + shift  (+ dy * dy_scale)
#pragma once

#include <cstdint>

#include "tensor/host_device.h"
#include "tensor/rounding.h"

namespace dl {

// The scalar operands, rounded to T once (as the tensor ops rounded them).
template <typename T>
struct BatchNormConstants {
  T eps, keep, momentum, var_momentum, minus_inv_count;
};

template <typename T>
BatchNormConstants<T> batch_norm_constants(double eps, double momentum, double count) {
  return {static_cast<T>(eps), static_cast<T>(1.0 - momentum), static_cast<T>(momentum),
          static_cast<T>(momentum * count / (count - 1.0)), static_cast<T>(-1.0 / count)};
}

// Channel c of the forward scalars; weight, running_mean and running_var may be null.
template <typename T>
DL_HOST_DEVICE inline void batch_norm_forward_at(int64_t c, const T* mean, const T* var, const T* weight,
                                                 T* running_mean, T* running_var, const BatchNormConstants<T>& k,
                                                 T* invstd, T* scale) {
  const T inv = rn_div(T(1), rn_sqrt(rn_add(var[c], k.eps)));
  invstd[c] = inv;
  scale[c] = weight ? rn_mul(inv, weight[c]) : inv;
  if (running_mean) {
    running_mean[c] = rn_add(rn_mul(running_mean[c], k.keep), rn_mul(mean[c], k.momentum));
    running_var[c] = rn_add(rn_mul(running_var[c], k.keep), rn_mul(var[c], k.var_momentum));
  }
}

// Channel c of the backward scalars.
template <typename T>
DL_HOST_DEVICE inline void batch_norm_backward_at(int64_t c, const T* sum_dy, const T* sum_dy_xmu, const T* invstd,
                                                  const T* scale, const BatchNormConstants<T>& k, T* sum_dy_xhat,
                                                  T* xmu_coef, T* const_coef) {
  const T xhat = rn_mul(sum_dy_xmu[c], invstd[c]);
  sum_dy_xhat[c] = xhat;
  xmu_coef[c] = rn_mul(rn_mul(rn_mul(scale[c], invstd[c]), xhat), k.minus_inv_count);
  const_coef[c] = rn_mul(rn_mul(scale[c], sum_dy[c]), k.minus_inv_count);
}

// batch_norm_elemt of one element: (x - mean) * scale + shift, each
// operation rounded to T (no fused multiply-add on the device).
template <typename T>
DL_HOST_DEVICE inline T batch_norm_elemt_at(T x, T mean, T scale, T shift) {
  return rn_add(rn_mul(rn_sub(x, mean), scale), shift);
}

// The same plus the gradient term: ((x - mean) * scale + shift) + dy * dy_scale.
template <typename T>
DL_HOST_DEVICE inline T batch_norm_elemt_at(T x, T mean, T scale, T shift, T dy, T dy_scale) {
  return rn_add(batch_norm_elemt_at(x, mean, scale, shift), rn_mul(dy, dy_scale));
}

}  // namespace dl
