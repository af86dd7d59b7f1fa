// backend.h — the dispatch point between ops and kernels.
//
// Ops (src/ops/) work out shapes, dtypes and gradients; they never touch
// memory themselves. They ask backend(device) for a kernel, so everything a
// device must provide to run the library is the list of virtual functions
// below. The CPU implements them in tensor/cpu/, the CUDA backend will in
// tensor/cuda/ (one file per kernel family on both sides).
//
// Conventions for every kernel:
//  - the caller allocates `out` (contiguous, right shape and dtype) on the
//    same device as the inputs, and checks shapes and dtypes beforehand;
//  - inputs may be arbitrary strided views, including stride-0 broadcasts;
//  - kernels never allocate tensors that outlive the call.
#pragma once

#include <array>
#include <initializer_list>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace dl {

// Element-wise unary ops; `a` and `b` are the scalar parameters where an op
// has them (pow: a = exponent, leaky_relu: a = slope, clamp: [a, b]).
enum class UnaryOp { Neg, Abs, Exp, Log, Sqrt, Relu, LeakyRelu, Sigmoid, Tanh, Pow, Clamp };
// Element-wise binary ops; comparisons write a bool `out`.
enum class BinaryOp { Add, Sub, Mul, Div, Eq, Ne, Lt, Le, Gt, Ge };
// Reductions over a set of dims; Sum and Max write x's dtype (Sum of an
// integer type writes int64), ArgMax writes int64 indices into the
// flattened reduced dims, first occurrence wins.
enum class ReduceOp { Sum, Max, ArgMax };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Memory.
  virtual void* allocate(size_t nbytes) = 0;
  // Whether a CUDA graph capture is under way (tensor/cuda_graph.h): work is
  // then recorded, not run. Never on the CPU.
  virtual bool capturing() const { return false; }
  virtual void deallocate(void* ptr) = 0;
  virtual void copy_to_host(const Storage& src, size_t src_byte_offset, void* host, size_t nbytes) = 0;
  virtual void copy_from_host(const void* host, Storage& dst, size_t dst_byte_offset, size_t nbytes) = 0;

  // out = value (out may be a strided view).
  virtual void fill(const Tensor& out, double value) = 0;
  // out[i] = start + i * step for a contiguous 1-D out, computed in double
  // and converted to out's dtype. The default computes on the host and
  // copies; a GPU computes on the device, so that no copy from the host
  // sits in a CUDA graph.
  virtual void arange(const Tensor& out, double start, double step);
  // dst = src, same shape, converting dtype; dst may be a strided view.
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;
  // out = Philox draws: uniform [0,1) or standard normal (see tensor/random.h).
  virtual void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) = 0;

  virtual void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) = 0;
  // a and b are already broadcast to out's shape (as stride-0 views).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // out = cond ? a : b, all broadcast to out's shape; cond is bool.
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // Fails with `message` unless lo <= x[i] <= hi for every element (a NaN
  // fails). The default checks at once; a GPU queues the check on the device
  // and raises it at the next read back to the host, so that checking the
  // data never makes the host wait for the GPU (and works in a CUDA graph).
  virtual void check_range(const Tensor& x, double lo, double hi, const std::string& message);
  // leaky_relu's gradient, dx = x > 0 ? dy : dy * slope (x, dy, dx of one
  // shape). The default runs gt, mul and where with two temporaries; a
  // backend may instead do it in one pass.
  virtual void leaky_relu_backward(const Tensor& x, const Tensor& dy, double slope, const Tensor& dx);

  // `dims` sorted and unique; out has x's shape with those dims set to 1.
  virtual void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, const Tensor& out) = 0;

  // out[b] = a[b] @ w[b] for a [B, M, K], w [B, K, N], out [B, M, N].
  virtual void matmul(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // out = sum_b a[b] @ w[b] for a [B, M, K], w [B, K, N], out [M, N]: a
  // convolution's weight gradient. The default runs matmul into a temporary
  // [B, M, N] and sums it over B; a backend may instead treat it as ONE
  // product with inner dimension B*K and never materialise the temporary.
  virtual void matmul_sum_batch(const Tensor& a, const Tensor& b, const Tensor& out);
  // batch_norm's passes over x [N, C, ...] per channel c (dim 1, M = numel / C
  // values each); the per-channel tensors are [C] of x's dtype. The defaults
  // compose reduce and binary (with temporaries); a backend may fuse them.
  //   stats:            mean[c] = sum x / M,  var[c] = sum (x - mean[c])^2 / M  (biased)
  //   elemt:            out = (x - mean[c]) * scale[c] + shift[c]  (+ dy * dy_scale[c] when dy is defined)
  //   backward_reduce:  sum_dy[c] = sum dy,  sum_dy_xmu[c] = sum dy * (x - mean[c])
  virtual void batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var);
  virtual void batch_norm_elemt(const Tensor& x, const Tensor& mean, const Tensor& scale, const Tensor& shift,
                                const Tensor& dy, const Tensor& dy_scale, const Tensor& out);
  virtual void batch_norm_backward_reduce(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& sum_dy,
                                          const Tensor& sum_dy_xmu);
  // batch_norm's per-channel scalars, one pass over [C] tensors (formulas
  // and rounding: tensor/norm_math.h). All [C] tensors are contiguous, of
  // one dtype and device; weight, running_mean and running_var may be
  // undefined (then scale = invstd, and no running update).
  virtual void batch_norm_forward_params(const Tensor& mean, const Tensor& var, const Tensor& weight,
                                         const Tensor& running_mean, const Tensor& running_var, double eps,
                                         double momentum, double count, const Tensor& invstd,
                                         const Tensor& scale) = 0;
  virtual void batch_norm_backward_params(const Tensor& sum_dy, const Tensor& sum_dy_xmu, const Tensor& invstd,
                                          const Tensor& scale, double count, const Tensor& sum_dy_xhat,
                                          const Tensor& xmu_coef, const Tensor& const_coef) = 0;
  // Softmax (or log-softmax) along `dim`, max-subtracted for stability.
  virtual void softmax(const Tensor& x, int64_t dim, bool log, const Tensor& out) = 0;

  // 2-D convolution helpers (stride, zero padding; no dilation). For an image
  // [N, C, H, W] and a kernel kh x kw, the sliding window has
  // OH = (H + 2 ph - kh) / sh + 1 rows and OW likewise (floor), L = OH * OW.
  // im2col: cols [N, C*kh*kw, L] with
  //   cols[n, (c*kh + i)*kw + j, oh*OW + ow] = x[n, c, oh*sh - ph + i, ow*sw - pw + j]  (0 outside x).
  virtual void im2col(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                      std::array<int64_t, 2> padding, const Tensor& cols) = 0;
  // col2im, the adjoint of im2col: out [N, C, H, W] (overwritten) is the sum
  // of every cols entry into the image position im2col reads it from; entries
  // that fall in the padding are dropped.
  virtual void col2im(const Tensor& cols, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                      std::array<int64_t, 2> padding, const Tensor& out) = 0;
  // The two products a convolution takes with im2col(x) as an operand:
  //   matmul_im2col:           out[n] = a @ im2col(x)[n]            a [M, C*kh*kw], out [N, M, L]
  //   matmul_im2col_sum_batch: out = sum_n a[n] @ im2col(x)[n]^T   a [N, M, L],    out [M, C*kh*kw]
  // The defaults write im2col(x) into a temporary and call matmul /
  // matmul_sum_batch; a backend may instead read the windows straight from x
  // while it multiplies (an "implicit" im2col), which never writes the
  // kh*kw times larger cols matrix to memory and reads it back.
  virtual void matmul_im2col(const Tensor& a, const Tensor& x, std::array<int64_t, 2> kernel,
                             std::array<int64_t, 2> stride, std::array<int64_t, 2> padding, const Tensor& out);
  virtual void matmul_im2col_sum_batch(const Tensor& a, const Tensor& x, std::array<int64_t, 2> kernel,
                                       std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                       const Tensor& out);
  // Max pooling over kh x kw windows (padding counts as -inf, floor mode):
  // out [N, C, OH, OW] takes x's dtype, indices (int64, same shape) the
  // position h*W + w of the maximum in its [H, W] plane; the first one wins
  // on ties and a NaN wins over everything (as PyTorch's CPU kernel).
  virtual void max_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                          std::array<int64_t, 2> padding, const Tensor& out, const Tensor& indices) = 0;
  // dx [N, C, H, W] (overwritten) = 0, then dx[n, c, indices[n, c, oh, ow]] += dy[n, c, oh, ow].
  virtual void max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) = 0;

  // Optimizers. One Adam update of every parameter in `params` (one launch
  // on a GPU, whatever their number): first step += 1, then update number
  // t = step, in place on param, exp_avg and exp_avg_sq (the formula and its
  // rounding: tensor/adam_math.h). Each parameter's four tensors are
  // contiguous floating tensors of one shape, dtype and device, and `step`
  // is its 0-dim int64 counter on that same device: the counter lives beside
  // the parameter, so an update reads nothing back to the host and can be
  // replayed from a CUDA graph.
  struct AdamParam {
    Tensor param, grad, exp_avg, exp_avg_sq, step;
  };
  struct AdamOptions {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t cosine_steps;  // > 0: lr cosine-annealed over that many updates (scheduled_lr)
  };
  virtual void adam_step(const std::vector<AdamParam>& params, const AdamOptions& options) = 0;
};

// batch_norm_*_params' check: every defined tensor is a contiguous [C] of
// the first one's dtype and device.
void check_channel_params(const char* op, std::initializer_list<const Tensor*> tensors);

// adam_step's checks, shared by its implementations: one-line errors naming
// the tensor that does not fit.
void check_adam_operands(const Backend::AdamParam& p);

// The backend for a device; throws a one-line error when the device is not
// available (no CUDA in this build, or no GPU on this machine).
Backend& backend(Device device);

// Number of CUDA devices visible; 0 when built without CUDA or without a GPU.
int cuda_device_count();

// The CUDA caching allocator's counters for one device (tensor/cuda/memory.cu):
// after a warm-up, a training loop should see device_allocs stay constant
// (every block comes from the cache).
struct CudaMemoryStats {
  int64_t device_allocs = 0;      // cudaMalloc calls so far
  int64_t device_frees = 0;       // cudaFree calls (only when the cache is emptied)
  int64_t cache_hits = 0;         // allocations served from a free list
  int64_t bytes_reserved = 0;     // held from the driver: in use + cached
  int64_t bytes_in_use = 0;       // handed out to tensors (rounded up to the bin size)
  int64_t peak_bytes_in_use = 0;  // the largest bytes_in_use so far
  std::string str() const;        // one line, for logs
};
// Both throw a one-line error when the device is not available.
CudaMemoryStats cuda_memory_stats(int device = 0);
// Returns every cached (free) block of the device to the driver.
void cuda_empty_cache(int device = 0);

}  // namespace dl
