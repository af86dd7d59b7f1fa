// backend.cpp — picks the backend for a device (see backend.h).
#include "tensor/backend.h"

#include "tensor/conv_geometry.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cuda_graph.h"
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

// The defaults of the kernels a backend may fuse, from its other kernels.
namespace {

// A scalar `value` of `like`'s dtype and device, broadcast to its shape.
Tensor broadcast_scalar(Backend& b, double value, const Tensor& like) {
  const Tensor scalar = Tensor::empty({}, like.dtype(), like.device());
  b.fill(scalar, value);
  return scalar.expand(like.shape());
}

// x's dims but 1, which batch_norm reduces over, and a [C] tensor viewed as
// [1, C, 1, ...] (to broadcast against x, or to receive a reduction of x).
std::vector<int64_t> non_channel_dims(const Tensor& x) {
  std::vector<int64_t> dims = {0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

Tensor as_channel(const Tensor& per_channel, const Tensor& x) {
  Shape shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = x.size(1);
  return per_channel.reshape(shape);
}

Tensor channel_broadcast(const Tensor& per_channel, const Tensor& x) {
  return as_channel(per_channel, x).expand(x.shape());
}

// x - mean[c], a fresh tensor.
Tensor centered(Backend& b, const Tensor& x, const Tensor& mean) {
  const Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  b.binary(BinaryOp::Sub, x, channel_broadcast(mean, x), out);
  return out;
}

// out[c] = sum of x over every dim but 1, divided by `divisor`.
void channel_sum(Backend& b, const Tensor& x, double divisor, const Tensor& out) {
  b.reduce(ReduceOp::Sum, x, non_channel_dims(x), as_channel(out, x));
  if (divisor != 1.0) b.binary(BinaryOp::Div, out, broadcast_scalar(b, divisor, out), out);
}

}  // namespace

void check_channel_params(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor& first = **tensors.begin();
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    check(t->dim() == 1 && t->size(0) == first.size(0) && t->is_contiguous() && t->dtype() == first.dtype() &&
              t->device() == first.device(),
          op, ": expected contiguous [", first.size(0), "] ", first.dtype(), " tensors on ", first.device(), ", got ",
          t->dtype(), " ", t->shape(), " on ", t->device());
  }
}

void Backend::arange(const Tensor& out, double start, double step) {
  std::vector<double> values(static_cast<size_t>(out.numel()));
  for (size_t i = 0; i < values.size(); ++i) values[i] = start + static_cast<double>(i) * step;
  // Converted on the CPU (the values are float64 there), then copied in.
  const Tensor host = from_host(values.data(), out.shape(), DType::Float64).to(out.dtype());
  copy_from_host(host.raw_data(), *out.storage(), out.offset() * dtype_size(out.dtype()),
                 static_cast<size_t>(out.numel()) * dtype_size(out.dtype()));
}

void Backend::check_range(const Tensor& x, double lo, double hi, const std::string& message) {
  for (double v : x.to_vector<double>()) check(lo <= v && v <= hi, message);
}

void Backend::leaky_relu_backward(const Tensor& x, const Tensor& dy, double slope, const Tensor& dx) {
  const Tensor positive = Tensor::empty(x.shape(), DType::Bool, x.device());
  binary(BinaryOp::Gt, x, broadcast_scalar(*this, 0.0, x), positive);
  const Tensor scaled = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  binary(BinaryOp::Mul, dy, broadcast_scalar(*this, slope, dy), scaled);
  where(positive, dy, scaled, dx);
}

void Backend::batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var) {
  const double m = double(x.numel() / x.size(1));
  channel_sum(*this, x, m, mean);
  const Tensor diff = centered(*this, x, mean);
  binary(BinaryOp::Mul, diff, diff, diff);
  channel_sum(*this, diff, m, var);
}

void Backend::batch_norm_elemt(const Tensor& x, const Tensor& mean, const Tensor& scale, const Tensor& shift,
                               const Tensor& dy, const Tensor& dy_scale, const Tensor& out) {
  const Tensor diff = centered(*this, x, mean);
  binary(BinaryOp::Mul, diff, channel_broadcast(scale, x), diff);
  binary(BinaryOp::Add, diff, channel_broadcast(shift, x), out);
  if (!dy.defined()) return;
  binary(BinaryOp::Mul, dy, channel_broadcast(dy_scale, x), diff);
  binary(BinaryOp::Add, out, diff, out);
}

void Backend::batch_norm_backward_reduce(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                         const Tensor& sum_dy, const Tensor& sum_dy_xmu) {
  channel_sum(*this, dy, 1.0, sum_dy);
  const Tensor diff = centered(*this, x, mean);
  binary(BinaryOp::Mul, diff, dy, diff);
  channel_sum(*this, diff, 1.0, sum_dy_xmu);
}

void Backend::matmul_sum_batch(const Tensor& a, const Tensor& b, const Tensor& out) {
  const Tensor products = Tensor::empty({a.size(0), a.size(1), b.size(2)}, out.dtype(), out.device());
  matmul(a, b, products);
  reduce(ReduceOp::Sum, products, {0}, out.reshape({1, a.size(1), b.size(2)}));
}

namespace {

// im2col(x) into a new [N, C*kh*kw, L] tensor.
Tensor im2col_of(Backend& backend, const Tensor& x, std::array<int64_t, 2> k, std::array<int64_t, 2> s,
                 std::array<int64_t, 2> p) {
  const int64_t oh = conv_out_size(x.size(2), k[0], s[0], p[0]), ow = conv_out_size(x.size(3), k[1], s[1], p[1]);
  Tensor cols = Tensor::empty({x.size(0), x.size(1) * k[0] * k[1], oh * ow}, x.dtype(), x.device());
  backend.im2col(x, k, s, p, cols);
  return cols;
}

}  // namespace

void Backend::matmul_im2col(const Tensor& a, const Tensor& x, std::array<int64_t, 2> kernel,
                            std::array<int64_t, 2> stride, std::array<int64_t, 2> padding, const Tensor& out) {
  const Tensor cols = im2col_of(*this, x, kernel, stride, padding);
  matmul(a.unsqueeze(0).expand({x.size(0), a.size(0), a.size(1)}), cols, out);
}

void Backend::matmul_im2col_sum_batch(const Tensor& a, const Tensor& x, std::array<int64_t, 2> kernel,
                                      std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                      const Tensor& out) {
  matmul_sum_batch(a, im2col_of(*this, x, kernel, stride, padding).transpose(1, 2), out);
}

std::string CudaMemoryStats::str() const {
  const auto mib = [](int64_t bytes) { return std::to_string(bytes / (1024 * 1024)) + " MiB"; };
  return "cuda memory: " + mib(bytes_in_use) + " in use (peak " + mib(peak_bytes_in_use) + "), " +
         mib(bytes_reserved) + " reserved; " + std::to_string(device_allocs) + " cudaMalloc, " +
         std::to_string(device_frees) + " cudaFree, " + std::to_string(cache_hits) + " cache hits";
}

#if !DL_CUDA
int cuda_device_count() { return 0; }

// Without CUDA a graph can never be made: the constructor refuses.
struct CudaGraph::Impl {};
CudaGraph::CudaGraph(Device device) {
  fail("CudaGraph: ", device, " requested, but this build has no CUDA support");
}
CudaGraph::~CudaGraph() = default;
void CudaGraph::capture(const std::function<void()>&) { fail("CudaGraph: this build has no CUDA support"); }
void CudaGraph::replay() { fail("CudaGraph: this build has no CUDA support"); }
bool CudaGraph::captured() const { return false; }

CudaMemoryStats cuda_memory_stats(int device) {
  fail("cuda_memory_stats: ", Device::cuda(device), " requested, but this build has no CUDA support");
}

void cuda_empty_cache(int device) {
  fail("cuda_empty_cache: ", Device::cuda(device), " requested, but this build has no CUDA support");
}
#endif

}  // namespace dl
