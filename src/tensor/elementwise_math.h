// elementwise_math.h — the scalar formula of every element-wise kernel
// (Backend::unary, binary and leaky_relu_backward), shared by the CPU
// (tensor/cpu/elementwise.cpp) and CUDA (tensor/cuda/elementwise.cu)
// kernels: each backend only loops and dispatches, so a formula, its NaN
// and overflow behaviour and its integer wrap-around are written once.
//
// The std:: math functions are the same calls on both sides: g++ turns
// std::exp(float) into expf, and nvcc's device overloads of std::exp(float)
// are expf too (the device code is the same as with the f-suffixed names).
// float64 only ever reaches the CPU (CUDA has no float64 tensors).
// The T(...) around an arithmetic result brings it back to T: uint8 is
// computed in int after promotion, so the cast makes it wrap modulo 256.
#pragma once

#include <cmath>
#include <type_traits>

#include "tensor/host_device.h"

namespace dl::scalar {

// v < 0 for signed T; unsigned values never are (and comparing them with 0
// would only draw a warning).
template <typename T>
DL_HOST_DEVICE inline bool is_negative(T v) {
  if constexpr (std::is_signed_v<T>) return v < T(0);
  else return false;
}

// ---- unary (UnaryOp) -----------------------------------------------------------

// neg(x) = -x
template <typename T>
DL_HOST_DEVICE inline T neg(T v) {
  return T(-v);
}

// abs(x) = |x|; for floats std::abs, which also clears the sign of -0.0
template <typename T>
DL_HOST_DEVICE inline T abs(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::abs(v);
  else return is_negative(v) ? T(-v) : v;
}

// exp(x) = e^x
template <typename T>
DL_HOST_DEVICE inline T exp(T v) {
  return std::exp(v);
}

// log(x) = ln x
template <typename T>
DL_HOST_DEVICE inline T log(T v) {
  return std::log(v);
}

// sqrt(x) = x^(1/2)
template <typename T>
DL_HOST_DEVICE inline T sqrt(T v) {
  return std::sqrt(v);
}

// relu(x) = max(x, 0), written so that NaN (for which every comparison is
// false) passes through, as in PyTorch
template <typename T>
DL_HOST_DEVICE inline T relu(T v) {
  return is_negative(v) ? T(0) : v;
}

// leaky_relu(x) = x for x > 0, slope * x otherwise
template <typename T>
DL_HOST_DEVICE inline T leaky_relu(T v, T slope) {
  return v > T(0) ? v : v * slope;
}

// leaky_relu'(x) dy = x > 0 ? dy : dy * slope  (a NaN x takes dy * slope)
template <typename T>
DL_HOST_DEVICE inline T leaky_relu_backward(T x, T dy, T slope) {
  return x > T(0) ? dy : T(dy * slope);
}

// sigmoid(x) = 1 / (1 + e^-x), in two forms so that exp() never overflows:
// for x < 0 it is e^x / (1 + e^x), and e^x is small
template <typename T>
DL_HOST_DEVICE inline T sigmoid(T v) {
  if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
  const T e = std::exp(v);
  return e / (T(1) + e);
}

// tanh(x) = (e^x - e^-x) / (e^x + e^-x)
template <typename T>
DL_HOST_DEVICE inline T tanh(T v) {
  return std::tanh(v);
}

// pow(x, p) = x^p
template <typename T>
DL_HOST_DEVICE inline T pow(T v, T exponent) {
  return std::pow(v, exponent);
}

// clamp(x, lo, hi) = min(max(x, lo), hi), with the comparisons of
// std::min(std::max(x, lo), hi) spelled out (nvcc refuses std::min in
// device code): a NaN x stays NaN
template <typename T>
DL_HOST_DEVICE inline T clamp(T v, T lo, T hi) {
  const T low_clamped = v < lo ? lo : v;
  return hi < low_clamped ? hi : low_clamped;
}

// ---- binary (BinaryOp) ------------------------------------------------------------

// a + b, a - b, a * b, a / b
template <typename T>
DL_HOST_DEVICE inline T add(T a, T b) {
  return T(a + b);
}
template <typename T>
DL_HOST_DEVICE inline T sub(T a, T b) {
  return T(a - b);
}
template <typename T>
DL_HOST_DEVICE inline T mul(T a, T b) {
  return T(a * b);
}
template <typename T>
DL_HOST_DEVICE inline T div(T a, T b) {
  return T(a / b);
}

// a == b, a != b, a < b, a <= b, a > b, a >= b (false whenever a NaN is involved, but !=)
template <typename T>
DL_HOST_DEVICE inline bool eq(T a, T b) {
  return a == b;
}
template <typename T>
DL_HOST_DEVICE inline bool ne(T a, T b) {
  return a != b;
}
template <typename T>
DL_HOST_DEVICE inline bool lt(T a, T b) {
  return a < b;
}
template <typename T>
DL_HOST_DEVICE inline bool le(T a, T b) {
  return a <= b;
}
template <typename T>
DL_HOST_DEVICE inline bool gt(T a, T b) {
  return a > b;
}
template <typename T>
DL_HOST_DEVICE inline bool ge(T a, T b) {
  return a >= b;
}

}  // namespace dl::scalar
