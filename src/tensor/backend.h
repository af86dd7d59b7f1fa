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

#include <cstdint>
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
  virtual void deallocate(void* ptr) = 0;
  virtual void copy_to_host(const Storage& src, size_t src_byte_offset, void* host, size_t nbytes) = 0;
  virtual void copy_from_host(const void* host, Storage& dst, size_t dst_byte_offset, size_t nbytes) = 0;

  // out = value (out may be a strided view).
  virtual void fill(const Tensor& out, double value) = 0;
  // dst = src, same shape, converting dtype; dst may be a strided view.
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;
  // out = Philox draws: uniform [0,1) or standard normal (see tensor/random.h).
  virtual void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) = 0;

  virtual void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) = 0;
  // a and b are already broadcast to out's shape (as stride-0 views).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // out = cond ? a : b, all broadcast to out's shape; cond is bool.
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) = 0;

  // `dims` sorted and unique; out has x's shape with those dims set to 1.
  virtual void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, const Tensor& out) = 0;

  // out[b] = a[b] @ w[b] for a [B, M, K], w [B, K, N], out [B, M, N].
  virtual void matmul(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // Softmax (or log-softmax) along `dim`, max-subtracted for stability.
  virtual void softmax(const Tensor& x, int64_t dim, bool log, const Tensor& out) = 0;
};

// The backend for a device; throws a one-line error when the device is not
// available (no CUDA in this build, or no GPU on this machine).
Backend& backend(Device device);

// Number of CUDA devices visible; 0 when built without CUDA or without a GPU.
int cuda_device_count();

}  // namespace dl
