// tensor.cpp — Storage, the Tensor handle's accessors and its autograd
// fields. Views and ops live in src/ops/, the engine in src/autograd/.
#include "tensor/tensor.h"

#include <cstring>

#include "tensor/backend.h"

namespace dl {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = backend(device).allocate(nbytes);
}

Storage::~Storage() { backend(device_).deallocate(data_); }

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t size : shape) check(size >= 0, "empty: negative size in shape ", shape);
  // Every tensor is created here, so this is the one place float64 is
  // refused on a GPU: the CUDA kernels exist for float32 and the integer types.
  check(!(device.is_cuda() && dtype == DType::Float64), "empty: float64 is not supported on ", device,
        "; convert with to(DType::Float32) first (shape ", shape, ")");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

TensorImpl& Tensor::impl() const {
  check(impl_ != nullptr, "tensor: use of an undefined tensor (default-constructed, or a gradient never computed)");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim("size", d, dim(), shape())]; }

bool Tensor::is_contiguous() const {
  // A tensor with no elements is contiguous whatever its strides (as in
  // PyTorch); otherwise reshape() of an empty view would clone it and still
  // fail to view the clone.
  if (numel() == 0) return true;
  // Size-1 dims can have any stride; everything else must be row-major.
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  check(device().is_cpu(), "data: tensor is on ", device(), "; copy it to the CPU first");
  return static_cast<char*>(storage()->data()) + offset() * dtype_size(dtype());
}

double Tensor::item() const {
  check(numel() == 1, "item: expected a tensor with one element, got shape ", shape());
  return to_vector<double>()[0];
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  // Copy into a contiguous CPU tensor of dtype T, then read it out. From a
  // device, the elements travel in their own dtype (a GPU may not have T:
  // float64) and are converted on the CPU.
  Tensor host = Tensor::empty(shape(), dtype_of<T>());
  if (device().is_cpu()) {
    backend(device()).copy(*this, host);
  } else {
    const Tensor on_cpu = detach().to(Device::cpu());
    backend(Device::cpu()).copy(on_cpu, host);
  }
  const T* values = host.data<T>();
  return std::vector<T>(values, values + numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  check(!requires_grad || is_floating(dtype()), "set_requires_grad: only float32/float64 tensors can require grad, got ",
        dtype());
  check(is_leaf(), "set_requires_grad: only leaf tensors can be marked; this one was made by an op (use detach())");
  impl().requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? *impl().grad : Tensor(); }

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined()) {
    check(grad.shape() == shape() && grad.dtype() == dtype(), "set_grad: gradient ", grad.shape(), " ", grad.dtype(),
          " does not match tensor ", shape(), " ", dtype());
    impl().grad = std::make_shared<Tensor>(grad);
  } else {
    impl().grad.reset();
  }
}

void Tensor::zero_grad() const { impl().grad.reset(); }

Tensor as_strided_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor Tensor::detach() const { return as_strided_view(*this, shape(), strides(), offset()); }

}  // namespace dl
