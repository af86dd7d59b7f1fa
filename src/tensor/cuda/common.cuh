// common.cuh — what the CUDA kernel files share: the check macro for CUDA
// calls, device pointers of tensors, the strided-index helper that lets a
// kernel read any view (transposes, slices, stride-0 broadcasts), the
// launch configuration and the dtype visitor for the dtypes CUDA supports.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstdint>

#include "tensor/cuda/cuda_backend.h"

namespace dl {

// DL_CUDA_CHECK(cudaMemcpy(...)) throws a one-line dl::Error naming the call,
// where it is and CUDA's message. Kernel launches are checked with
// DL_CUDA_CHECK(cudaGetLastError()) right after the launch; a fault during
// execution surfaces at the next synchronising call (a copy to the host).
#define DL_CUDA_CHECK(call) ::dl::cuda_check((call), #call, __FILE__, __LINE__)

inline void cuda_check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) fail("cuda: ", call, " failed at ", file, ":", line, ": ", cudaGetErrorString(status));
}

// The stream every kernel and copy of the current device's backend runs on
// (set by CudaBackend::activate; see cuda_backend.h, "Stream model").
cudaStream_t cuda_stream();

// Pointer to the first element of a CUDA tensor (storage + offset).
template <typename T>
T* device_data(const Tensor& t) {
  check(dtype_of<T>() == t.dtype(), "cuda: tensor has dtype ", t.dtype(), ", kernel expects ", dtype_of<T>());
  return reinterpret_cast<T*>(static_cast<char*>(t.storage()->data()) + t.offset() * dtype_size(t.dtype()));
}

// ---- strided indexing ---------------------------------------------------------

constexpr int kMaxDims = 16;

// The offsets (in elements) of the element with row-major number `linear`
// in N operands that share one shape but each have their own strides:
//   linear = sum_d i_d * prod_{e > d} size_e,   offset_k = sum_d i_d * stride_k[d].
// Passed to kernels by value (a few hundred bytes of kernel parameters).
template <int N>
struct StridedIndex {
  int ndim = 0;
  int64_t sizes[kMaxDims];
  int64_t strides[N][kMaxDims];

  __device__ void offsets(int64_t linear, int64_t (&out)[N]) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t i = linear % sizes[d];
      linear /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += i * strides[k][d];
    }
  }
  __device__ int64_t offset(int64_t linear) const {
    static_assert(N == 1, "offset() is for a single operand");
    int64_t out[1];
    offsets(linear, out);
    return out[0];
  }
};

// Builds the index for `shape` and each operand's strides. Size-1 dims are
// dropped and neighbouring dims merged where every operand steps through
// them as through one dim (stride[d-1] == stride[d] * size[d]): a contiguous
// tensor becomes 1-D, so the per-element division runs once.
template <int N>
StridedIndex<N> make_strided_index(const Shape& shape, const std::array<const Shape*, N>& strides) {
  StridedIndex<N> index;
  int64_t sizes[kMaxDims];
  int64_t merged[N][kMaxDims];
  int count = 0;  // dims kept so far, innermost first
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    bool mergeable = count > 0;
    for (int k = 0; k < N && mergeable; ++k) {
      mergeable = (*strides[k])[d] == merged[k][count - 1] * sizes[count - 1];
    }
    if (mergeable) {
      sizes[count - 1] *= shape[d];
      continue;
    }
    check(count < kMaxDims, "cuda: tensors with more than ", kMaxDims, " non-mergeable dims are not supported, got ",
          shape);
    sizes[count] = shape[d];
    for (int k = 0; k < N; ++k) merged[k][count] = (*strides[k])[d];
    ++count;
  }
  index.ndim = count;
  for (int d = 0; d < count; ++d) {  // back to outermost first
    index.sizes[d] = sizes[count - 1 - d];
    for (int k = 0; k < N; ++k) index.strides[k][d] = merged[k][count - 1 - d];
  }
  return index;
}

// ---- launching ---------------------------------------------------------------

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items: enough to fill any current
// GPU, capped so that the grid size stays far within CUDA's limits.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
}

// The first item and the step of a grid-stride loop.
__device__ inline int64_t grid_start() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// visit_dtype for the dtypes a CUDA tensor can have. float64 never reaches a
// kernel (Tensor::empty refuses it on CUDA); the error is the safety net.
template <typename F>
decltype(auto) visit_cuda_dtype(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Int64: return f(int64_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Bool: return f(bool{});
    case DType::Float64: break;
  }
  fail(op, ": ", dtype, " is not supported on CUDA");
}

}  // namespace dl
