// reduce.cu — sum, max and argmax over a set of dims on CUDA.
//
// One block per output element (grid-stride over outputs). Split x's dims
// into the kept ones K and the reduced ones R: output o starts at x offset
// kept(o), and the r-th element of its block (row-major over R, which is the
// index argmax reports) sits at kept(o) + reduced(r). The threads of the
// block stride over r, each folds its share, and a tree in shared memory
// folds the threads' partials.
//
// Same results as cpu/reduce.cpp: sums accumulate in double for float32 and
// in int64 for integers and bool (written as int64); max and argmax pick,
// between two candidates (value, r), a NaN over anything (the first NaN
// among NaNs), else the larger value, else on ties the smaller r — which is
// exactly "the first maximum wins, NaN propagates" of the CPU's scan, whatever
// order the tree folds in.
#include <type_traits>

#include "tensor/cuda/common.cuh"

namespace dl {

namespace {

constexpr int kReduceThreads = 256;

// Threads per block: a power of two (for the tree), no more than needed.
int reduce_threads(int64_t count) {
  int threads = 32;
  while (threads < kReduceThreads && threads < count) threads *= 2;
  return threads;
}

template <typename T>
__device__ bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}

// Whether candidate (v, i) beats the current best (b, j) (see the header).
template <typename T>
__device__ bool beats(T v, int64_t i, T b, int64_t j) {
  if (j < 0) return true;  // no best yet
  if (is_nan(b)) return is_nan(v) && i < j;
  if (is_nan(v)) return true;
  if (v > b) return true;
  return !(b > v) && i < j;
}

template <typename T, typename Acc, typename Out>
__global__ void sum_kernel(int64_t outputs, int64_t count, StridedIndex<1> kept, StridedIndex<1> reduced, const T* x,
                           Out* out) {
  __shared__ Acc partial[kReduceThreads];
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const T* base = x + kept.offset(o);
    Acc acc = Acc(0);
    for (int64_t r = threadIdx.x; r < count; r += blockDim.x) acc += static_cast<Acc>(base[reduced.offset(r)]);
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
      if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) out[o] = static_cast<Out>(partial[0]);
    __syncthreads();  // partial[0] is read before the next output overwrites it
  }
}

template <typename T>
__global__ void max_kernel(int64_t outputs, int64_t count, StridedIndex<1> kept, StridedIndex<1> reduced, const T* x,
                           T* values, int64_t* indices) {
  __shared__ T best[kReduceThreads];
  __shared__ int64_t best_at[kReduceThreads];
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const T* base = x + kept.offset(o);
    T b = T(0);
    int64_t j = -1;
    for (int64_t r = threadIdx.x; r < count; r += blockDim.x) {
      const T v = base[reduced.offset(r)];
      if (beats(v, r, b, j)) {
        b = v;
        j = r;
      }
    }
    best[threadIdx.x] = b;
    best_at[threadIdx.x] = j;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
      const int t = threadIdx.x;
      if (t < half && best_at[t + half] >= 0 && beats(best[t + half], best_at[t + half], best[t], best_at[t])) {
        best[t] = best[t + half];
        best_at[t] = best_at[t + half];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      if (values) values[o] = best[0];
      else indices[o] = best_at[0];
    }
    __syncthreads();
  }
}

}  // namespace

void CudaBackend::reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, const Tensor& out) {
  const int64_t outputs = out.numel();
  if (outputs == 0) return;
  activate();
  // x's shape and strides split into kept and reduced dims.
  Shape kept_shape, kept_strides, reduced_shape, reduced_strides;
  size_t next = 0;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (next < dims.size() && dims[next] == d) {
      ++next;
      reduced_shape.push_back(x.shape()[d]);
      reduced_strides.push_back(x.strides()[d]);
    } else {
      kept_shape.push_back(x.shape()[d]);
      kept_strides.push_back(x.strides()[d]);
    }
  }
  const int64_t count = shape_numel(reduced_shape);
  const StridedIndex<1> kept = make_strided_index<1>(kept_shape, {&kept_strides});
  const StridedIndex<1> reduced = make_strided_index<1>(reduced_shape, {&reduced_strides});
  const unsigned blocks = grid_for(outputs, 1);
  const int threads = reduce_threads(count);
  visit_cuda_dtype(x.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    if (op == ReduceOp::Sum) {
      if constexpr (std::is_floating_point_v<T>) {
        sum_kernel<T, double, T><<<blocks, threads, 0, cuda_stream()>>>(outputs, count, kept, reduced, device_data<T>(x),
                                                      device_data<T>(out));
      } else {
        sum_kernel<T, int64_t, int64_t><<<blocks, threads, 0, cuda_stream()>>>(outputs, count, kept, reduced, device_data<T>(x),
                                                             device_data<int64_t>(out));
      }
    } else {
      const bool want_value = op == ReduceOp::Max;
      max_kernel<T><<<blocks, threads, 0, cuda_stream()>>>(outputs, count, kept, reduced, device_data<T>(x),
                                         want_value ? device_data<T>(out) : nullptr,
                                         want_value ? nullptr : device_data<int64_t>(out));
    }
    DL_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace dl
