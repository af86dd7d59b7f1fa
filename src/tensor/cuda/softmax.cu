// softmax.cu — softmax and log-softmax along one dim on CUDA (the formulas:
// tensor/softmax_math.h, shared with cpu/softmax.cpp).
//
// One block per row along `dim` (grid-stride over rows). The threads stride
// over the row; the max and the sum are folded across the block in shared
// memory. As on the CPU the arithmetic is in double and the max is fmax,
// which skips NaN (a NaN in the row then makes every output NaN through the
// sum), so both backends round the same values.
#include "tensor/cuda/common.cuh"
#include "tensor/softmax_math.h"

namespace dl {

namespace {

constexpr int kSoftmaxThreads = 128;

// Folds every thread's `value` with fmax (or +) and returns the result to all.
template <bool kMax>
__device__ double block_fold(double value, double* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) {
      const double other = scratch[threadIdx.x + half];
      scratch[threadIdx.x] = kMax ? fmax(scratch[threadIdx.x], other) : scratch[threadIdx.x] + other;
    }
    __syncthreads();
  }
  const double result = scratch[0];
  __syncthreads();  // everyone has read scratch[0] before it is reused
  return result;
}

__global__ void softmax_kernel(int64_t rows, int64_t length, StridedIndex<2> row_index, int64_t x_step,
                               int64_t out_step, bool log, const float* x, float* out) {
  __shared__ double scratch[kSoftmaxThreads];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    int64_t off[2];
    row_index.offsets(row, off);
    const float* in = x + off[0];
    float* o = out + off[1];
    double max = -INFINITY;
    for (int64_t i = threadIdx.x; i < length; i += blockDim.x) max = fmax(max, static_cast<double>(in[i * x_step]));
    max = block_fold<true>(max, scratch);
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < length; i += blockDim.x) {
      sum += softmax_term(static_cast<double>(in[i * x_step]), max);
    }
    sum = block_fold<false>(sum, scratch);
    const double log_sum = ::log(sum);
    for (int64_t i = threadIdx.x; i < length; i += blockDim.x) {
      o[i * out_step] = static_cast<float>(softmax_output(static_cast<double>(in[i * x_step]), max, sum, log_sum, log));
    }
  }
}

}  // namespace

void CudaBackend::softmax(const Tensor& x, int64_t dim, bool log, const Tensor& out) {
  check(x.dtype() == DType::Float32, "softmax: expected a float32 tensor on CUDA, got ", x.dtype());
  const int64_t length = x.shape()[dim];
  if (x.numel() == 0) return;
  activate();
  // Every row's start: the shape with `dim` collapsed to 1.
  Shape rows_shape = x.shape();
  rows_shape[dim] = 1;
  const int64_t rows = shape_numel(rows_shape);
  const StridedIndex<2> row_index = make_strided_index<2>(rows_shape, {&x.strides(), &out.strides()});
  int threads = 32;
  while (threads < kSoftmaxThreads && threads < length) threads *= 2;
  softmax_kernel<<<grid_for(rows, 1), threads, 0, cuda_stream()>>>(rows, length, row_index, x.strides()[dim], out.strides()[dim], log,
                                                 device_data<float>(x), device_data<float>(out));
  DL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace dl
