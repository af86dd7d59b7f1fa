// dtype.h — the element types a tensor can hold, chosen at runtime.
//
// float32 and float64 are differentiable. int64 (labels, indices), uint8
// (image bytes) and bool (masks, comparison results) are not.
// visit_dtype() turns the runtime tag into a compile-time C++ type, which is
// how every kernel is written once as a template and instantiated per dtype.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ostream>

#include "tensor/error.h"

namespace dl {

enum class DType : uint8_t { Float32, Float64, Int64, UInt8, Bool };

inline size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
    case DType::Bool: return 1;
  }
  fail("dtype_size: invalid dtype tag ", static_cast<int>(dtype));
}

inline const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
  }
  fail("dtype_name: invalid dtype tag ", static_cast<int>(dtype));
}

inline std::ostream& operator<<(std::ostream& os, DType dtype) { return os << dtype_name(dtype); }

inline bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }

// Whether a scalar can be used with a tensor of `dtype` without being
// silently changed: any value for floating types; for the others a whole
// number within int64's range (converting anything else is truncation, or
// undefined behaviour for inf and values beyond 2^63).
inline bool scalar_fits(double value, DType dtype) {
  if (is_floating(dtype)) return true;
  constexpr double two_to_63 = 9223372036854775808.0;  // NaN fails every comparison
  return value >= -two_to_63 && value < two_to_63 && std::trunc(value) == value;
}

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }

// visit_dtype(dtype, [&](auto tag) { using T = decltype(tag); ... }) calls the
// lambda with a value of the C++ type that `dtype` stands for.
template <typename F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(int64_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Bool: return f(bool{});
  }
  fail("visit_dtype: invalid dtype tag ", static_cast<int>(dtype));
}

// The same, for ops only defined on floating types; `op` names the caller in
// the error: "exp: expected a floating tensor (float32 or float64), got int64".
template <typename F>
decltype(auto) visit_floating(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: fail(op, ": expected a floating tensor (float32 or float64), got ", dtype);
  }
}

}  // namespace dl
