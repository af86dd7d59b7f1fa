// create.cpp — functions that make new tensors from nothing or from host data.
#include <cmath>

#include "tensor/backend.h"
#include "tensor/tensor.h"

namespace dl {

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device);
  backend(device).fill(out, value);
  return out;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), like.dtype(), like.device()); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), like.dtype(), like.device()); }
Tensor full_like(const Tensor& like, double value) { return full(like.shape(), value, like.dtype(), like.device()); }

Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor from_host(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device);
  backend(device).copy_from_host(data, *out.storage(), 0, out.numel() * dtype_size(dtype));
  return out;
}

Tensor tensor(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  const Shape actual = shape.empty() ? Shape{static_cast<int64_t>(values.size())} : shape;
  check(shape_numel(actual) == static_cast<int64_t>(values.size()), "tensor: ", values.size(),
        " values do not fill shape ", actual);
  // Converted on the CPU (the values are float64 there), then moved.
  return from_host(values.data(), actual, DType::Float64).to(dtype).to(device);
}

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  check(step != 0, "arange: step must be non-zero");
  const double count = std::ceil((end - start) / step);
  // An infinite or NaN bound (or a count beyond int64) used to reach the
  // double -> int64 cast below, which is undefined behaviour; torch raises too.
  check(std::isfinite(start) && std::isfinite(end) && std::isfinite(count) && count < 9.2e18,
        "arange: unsupported range ", start, " -> ", end, " with step ", step);
  // The default dtype is int64 (as torch.arange of integers); fractional
  // values would be truncated to repeats, so they need a floating dtype.
  check(scalar_fits(start, dtype) && scalar_fits(step, dtype), "arange: fractional range ", start, " -> ", end,
        " with step ", step, " needs a floating dtype, got ", dtype);
  const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  const Tensor out = Tensor::empty({n}, dtype, device);
  if (n > 0) backend(device).arange(out, start, step);
  return out;
}

Tensor arange(int64_t end, DType dtype, Device device) { return arange(0.0, static_cast<double>(end), 1.0, dtype, device); }

}  // namespace dl
