// backend.cpp — picks the backend for a device (see backend.h).
#include "tensor/backend.h"

#include "tensor/cpu/cpu_backend.h"
#if DL_CUDA
#include "tensor/cuda/cuda_backend.h"
#endif

namespace dl {

Backend& backend(Device device) {
  if (device.is_cpu()) {
    static CpuBackend cpu;
    return cpu;
  }
#if DL_CUDA
  return cuda_backend(device);
#else
  fail("backend: ", device, " requested, but this build has no CUDA support (rebuild with nvcc and CUDA=1)");
#endif
}

// A scalar `value` of `like`'s dtype and device, broadcast to its shape.
static Tensor broadcast_scalar(Backend& b, double value, const Tensor& like) {
  const Tensor scalar = Tensor::empty({}, like.dtype(), like.device());
  b.fill(scalar, value);
  return scalar.expand(like.shape());
}

void Backend::leaky_relu_backward(const Tensor& x, const Tensor& dy, double slope, const Tensor& dx) {
  const Tensor positive = Tensor::empty(x.shape(), DType::Bool, x.device());
  binary(BinaryOp::Gt, x, broadcast_scalar(*this, 0.0, x), positive);
  const Tensor scaled = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  binary(BinaryOp::Mul, dy, broadcast_scalar(*this, slope, dy), scaled);
  where(positive, dy, scaled, dx);
}

void Backend::matmul_sum_batch(const Tensor& a, const Tensor& b, const Tensor& out) {
  const Tensor products = Tensor::empty({a.size(0), a.size(1), b.size(2)}, out.dtype(), out.device());
  matmul(a, b, products);
  reduce(ReduceOp::Sum, products, {0}, out.reshape({1, a.size(1), b.size(2)}));
}

std::string CudaMemoryStats::str() const {
  const auto mib = [](int64_t bytes) { return std::to_string(bytes / (1024 * 1024)) + " MiB"; };
  return "cuda memory: " + mib(bytes_in_use) + " in use (peak " + mib(peak_bytes_in_use) + "), " +
         mib(bytes_reserved) + " reserved; " + std::to_string(device_allocs) + " cudaMalloc, " +
         std::to_string(device_frees) + " cudaFree, " + std::to_string(cache_hits) + " cache hits";
}

#if !DL_CUDA
int cuda_device_count() { return 0; }

CudaMemoryStats cuda_memory_stats(int device) {
  fail("cuda_memory_stats: ", Device::cuda(device), " requested, but this build has no CUDA support");
}

void cuda_empty_cache(int device) {
  fail("cuda_empty_cache: ", Device::cuda(device), " requested, but this build has no CUDA support");
}
#endif

}  // namespace dl
