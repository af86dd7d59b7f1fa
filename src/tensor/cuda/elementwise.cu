// elementwise.cu — unary, binary and where kernels on CUDA, and the range
// checks (check_range) that ops run on their inputs.
//
// One thread per element (grid-stride loop); each operand is read through
// its own strides (StridedIndex), so views and broadcasts need no copies.
// The op is a runtime switch inside the kernel rather than one kernel per op:
// every thread of a launch takes the same branch, so it costs next to
// nothing, and it keeps the number of instantiations (and nvcc's time) small.
// The math is tensor/elementwise_math.h, the same functions the CPU kernels
// call, so NaN, overflow and integer wrap-around behave as on the CPU.
#include <string>
#include <type_traits>
#include <vector>

#include "tensor/convert.h"
#include "tensor/cuda/common.cuh"
#include "tensor/elementwise_math.h"

namespace dl {

namespace {

// Which ops each dtype has, as on the CPU: none for bool, the sign and
// clamping ones for integers, all for float.
bool unary_defined(UnaryOp op, DType dtype) {
  if (dtype == DType::Bool) return false;
  if (dtype == DType::Float32) return true;
  return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Relu || op == UnaryOp::Clamp;
}

// The ops unary_defined lets through for T: all of them for float, the sign
// and clamping ones for integers (the rest is refused on the host).
template <typename T>
__device__ T unary_apply(UnaryOp op, T v, T lo, T hi) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::Exp: return scalar::exp(v);
      case UnaryOp::Log: return scalar::log(v);
      case UnaryOp::Sqrt: return scalar::sqrt(v);
      case UnaryOp::LeakyRelu: return scalar::leaky_relu(v, lo);
      case UnaryOp::Sigmoid: return scalar::sigmoid(v);
      case UnaryOp::Tanh: return scalar::tanh(v);
      case UnaryOp::Pow: return scalar::pow(v, lo);
      default: break;
    }
  }
  switch (op) {
    case UnaryOp::Neg: return scalar::neg(v);
    case UnaryOp::Abs: return scalar::abs(v);
    case UnaryOp::Relu: return scalar::relu(v);
    default: return scalar::clamp(v, lo, hi);
  }
}

template <typename T>
__global__ void unary_kernel(int64_t n, StridedIndex<2> index, UnaryOp op, const T* x, T* out, T lo, T hi) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[2];
    index.offsets(i, off);
    out[off[1]] = unary_apply(op, x[off[0]], lo, hi);
  }
}

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le ||
         op == BinaryOp::Gt || op == BinaryOp::Ge;
}

template <typename T>
__global__ void compare_kernel(int64_t n, StridedIndex<3> index, BinaryOp op, const T* a, const T* b, bool* out) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[3];
    index.offsets(i, off);
    const T x = a[off[0]], y = b[off[1]];
    bool r = false;
    switch (op) {
      case BinaryOp::Eq: r = scalar::eq(x, y); break;
      case BinaryOp::Ne: r = scalar::ne(x, y); break;
      case BinaryOp::Lt: r = scalar::lt(x, y); break;
      case BinaryOp::Le: r = scalar::le(x, y); break;
      case BinaryOp::Gt: r = scalar::gt(x, y); break;
      case BinaryOp::Ge: r = scalar::ge(x, y); break;
      default: break;  // arithmetic goes to arithmetic_kernel
    }
    out[off[2]] = r;
  }
}

template <typename T>
__global__ void arithmetic_kernel(int64_t n, StridedIndex<3> index, BinaryOp op, const T* a, const T* b, T* out) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[3];
    index.offsets(i, off);
    const T x = a[off[0]], y = b[off[1]];
    T r = T(0);
    switch (op) {
      case BinaryOp::Add: r = scalar::add(x, y); break;
      case BinaryOp::Sub: r = scalar::sub(x, y); break;
      case BinaryOp::Mul: r = scalar::mul(x, y); break;
      case BinaryOp::Div: r = scalar::div(x, y); break;
      default: break;  // comparisons go to compare_kernel
    }
    out[off[2]] = r;
  }
}

template <typename T>
__global__ void where_kernel(int64_t n, StridedIndex<4> index, const bool* cond, const T* a, const T* b, T* out) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[4];
    index.offsets(i, off);
    out[off[3]] = cond[off[0]] ? a[off[1]] : b[off[2]];
  }
}

// flag = 1 when some element is outside [lo, hi] (or NaN). Several threads
// may store 1 at once; all store the same value.
template <typename T>
__global__ void check_range_kernel(int64_t n, StridedIndex<1> index, const T* x, double lo, double hi, int* flag) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    const double v = static_cast<double>(x[index.offset(i)]);
    if (!(lo <= v && v <= hi)) *flag = 1;
  }
}

// At most this many distinct check messages per device (each has a flag).
constexpr size_t kMaxChecks = 256;

}  // namespace

// Queued on the stream; raise_failed_checks reads the flags after the next
// host read (copy_to_host), so the error surfaces there, like a CUDA fault.
void CudaBackend::check_range(const Tensor& x, double lo, double hi, const std::string& message) {
  const int64_t n = x.numel();
  if (n == 0) return;
  activate();
  size_t id = 0;
  while (id < check_messages_.size() && check_messages_[id] != message) ++id;
  if (id == check_messages_.size()) {
    check(id < kMaxChecks, "cuda: more than ", kMaxChecks, " distinct check_range messages");
    if (!check_flags_) {
      DL_CUDA_CHECK(cudaMalloc(&check_flags_, kMaxChecks * sizeof(int)));
      DL_CUDA_CHECK(cudaMemsetAsync(check_flags_, 0, kMaxChecks * sizeof(int), stream_));
    }
    check_messages_.push_back(message);
  }
  visit_cuda_dtype(x.dtype(), "check_range", [&](auto tag) {
    using T = decltype(tag);
    const StridedIndex<1> index = make_strided_index<1>(x.shape(), {&x.strides()});
    check_range_kernel<T><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, index, device_data<T>(x), lo, hi,
                                                                       check_flags_ + id);
    DL_CUDA_CHECK(cudaGetLastError());
  });
}

void CudaBackend::raise_failed_checks() {
  if (check_messages_.empty()) return;
  std::vector<int> flags(check_messages_.size());
  DL_CUDA_CHECK(cudaMemcpyAsync(flags.data(), check_flags_, flags.size() * sizeof(int), cudaMemcpyDeviceToHost,
                                stream_));
  DL_CUDA_CHECK(cudaStreamSynchronize(stream_));
  for (size_t id = 0; id < flags.size(); ++id) {
    if (!flags[id]) continue;
    DL_CUDA_CHECK(cudaMemsetAsync(check_flags_, 0, kMaxChecks * sizeof(int), stream_));
    fail(check_messages_[id]);
  }
}

void CudaBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) {
  check(unary_defined(op, x.dtype()), "cuda unary: op ", static_cast<int>(op), " is not defined for ", x.dtype());
  const int64_t n = out.numel();
  if (n == 0) return;
  activate();
  visit_cuda_dtype(x.dtype(), "unary", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      const StridedIndex<2> index = make_strided_index<2>(out.shape(), {&x.strides(), &out.strides()});
      unary_kernel<T><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, index, op, device_data<T>(x), device_data<T>(out),
                                                 param_as<T>(a), param_as<T>(b));
      DL_CUDA_CHECK(cudaGetLastError());
    }
  });
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  check(is_comparison(op) || a.dtype() != DType::Bool, "cuda binary: op ", static_cast<int>(op),
        " is not defined for ", a.dtype());
  const int64_t n = out.numel();
  if (n == 0) return;
  activate();
  visit_cuda_dtype(a.dtype(), "binary", [&](auto tag) {
    using T = decltype(tag);
    const StridedIndex<3> index =
        make_strided_index<3>(out.shape(), {&a.strides(), &b.strides(), &out.strides()});
    if (is_comparison(op)) {
      compare_kernel<T><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, index, op, device_data<T>(a), device_data<T>(b),
                                                   device_data<bool>(out));
    } else if constexpr (!std::is_same_v<T, bool>) {
      arithmetic_kernel<T><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, index, op, device_data<T>(a), device_data<T>(b),
                                                      device_data<T>(out));
    }
    DL_CUDA_CHECK(cudaGetLastError());
  });
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  activate();
  visit_cuda_dtype(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    const StridedIndex<4> index =
        make_strided_index<4>(out.shape(), {&cond.strides(), &a.strides(), &b.strides(), &out.strides()});
    where_kernel<T><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, index, device_data<bool>(cond), device_data<T>(a),
                                               device_data<T>(b), device_data<T>(out));
    DL_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace dl
