// convert.h — how a value changes dtype, shared by every backend so that a
// copy or a fill gives the same bits on the CPU and on a GPU.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "tensor/host_device.h"

namespace dl {

// Converting to bool means "non-zero", as in C++ and PyTorch.
// Floating -> uint8 goes through int64 and wraps modulo 256 (-1.0 -> 255,
// 300.0 -> 44, as PyTorch on CPU): a direct float -> uint8 cast of a value
// outside [0, 256) is undefined behaviour in C++.
template <typename To, typename From>
DL_HOST_DEVICE inline To convert(From value) {
  if constexpr (std::is_same_v<To, bool>) return value != From(0);
  else if constexpr (std::is_same_v<To, uint8_t> && std::is_floating_point_v<From>)
    return static_cast<uint8_t>(static_cast<int64_t>(value));
  else return static_cast<To>(value);
}

// A double parameter (clamp bound, slope, exponent) as a T. For integer T an
// out-of-range value (clamp(int64, 0, inf), clamp(uint8, -1, 100)) saturates
// to T's range: a direct cast would be undefined behaviour.
template <typename T>
T param_as(double v) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    constexpr T lowest = std::numeric_limits<T>::lowest(), highest = std::numeric_limits<T>::max();
    if (v <= static_cast<double>(lowest)) return lowest;
    if (v >= static_cast<double>(highest)) return highest;  // 2^63 for int64: exact, so < it fits
  }
  return static_cast<T>(v);
}

}  // namespace dl
