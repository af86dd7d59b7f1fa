// rounding.h — float arithmetic that rounds after every operation on the
// host and on the device alike, for the small formulas that the CPU and CUDA
// kernels share (tensor/adam_math.h, tensor/norm_math.h) and must agree on
// bit for bit.
//
// nvcc contracts a * b + c into one FMA (one rounding instead of two); the
// host compiler, without -mfma, does not. The _rn intrinsics forbid the
// contraction on the device, so both sides round after every operation.
// (CUDA tensors are never float64, so the device needs only float.)
#pragma once

#include <cmath>

#include "tensor/host_device.h"

namespace dl {

#if defined(__CUDA_ARCH__)
DL_HOST_DEVICE inline float rn_mul(float a, float b) { return __fmul_rn(a, b); }
DL_HOST_DEVICE inline float rn_add(float a, float b) { return __fadd_rn(a, b); }
DL_HOST_DEVICE inline float rn_sub(float a, float b) { return __fsub_rn(a, b); }
DL_HOST_DEVICE inline float rn_div(float a, float b) { return __fdiv_rn(a, b); }
DL_HOST_DEVICE inline float rn_sqrt(float a) { return __fsqrt_rn(a); }
#else
template <typename T> T rn_mul(T a, T b) { return a * b; }
template <typename T> T rn_add(T a, T b) { return a + b; }
template <typename T> T rn_sub(T a, T b) { return a - b; }
template <typename T> T rn_div(T a, T b) { return a / b; }
template <typename T> T rn_sqrt(T a) { return std::sqrt(a); }
#endif

}  // namespace dl
