// cpu_backend.h — the CPU implementation of every kernel in backend.h.
// Each kernel family has its own file in this folder:
//   memory.cpp      allocate, host copies, fill, copy, random
//   elementwise.cpp unary, binary, where, leaky_relu_backward
//   reduce.cpp      sum / max / argmax over dims
//   matmul.cpp      batched matrix multiply (and its batch-summed form) on gemm
//   gemm.h/.cpp     the packed, blocked, threaded GEMM every product runs on
//   gemm_kernels.h  its micro-kernels: the portable one, and the declaration of
//   gemm_avx2.cpp   the AVX2 / FMA one (the only file built for AVX2)
//   thread_pool.h/.cpp  set_num_threads, num_threads, parallel_for
//   softmax.cpp     softmax and log-softmax
//   norm.cpp        batch_norm's fused stats, element-wise and backward-sum passes
//   conv.cpp        im2col / col2im, the products with an implicit im2col,
//                   max-pool forward and backward
//   optim.cpp       the fused Adam step
#pragma once

#include "tensor/backend.h"

namespace dl {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr) override;
  void copy_to_host(const Storage& src, size_t src_byte_offset, void* host, size_t nbytes) override;
  void copy_from_host(const void* host, Storage& dst, size_t dst_byte_offset, size_t nbytes) override;

  void fill(const Tensor& out, double value) override;
  void copy(const Tensor& src, const Tensor& dst) override;
  void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) override;

  void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void leaky_relu_backward(const Tensor& x, const Tensor& dy, double slope, const Tensor& dx) override;

  void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, const Tensor& out) override;
  void matmul(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void matmul_sum_batch(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var) override;
  void batch_norm_elemt(const Tensor& x, const Tensor& mean, const Tensor& scale, const Tensor& shift, const Tensor& dy,
                        const Tensor& dy_scale, const Tensor& out) override;
  void batch_norm_backward_reduce(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& sum_dy,
                                  const Tensor& sum_dy_xmu) override;
  void batch_norm_forward_params(const Tensor& mean, const Tensor& var, const Tensor& weight,
                                 const Tensor& running_mean, const Tensor& running_var, double eps, double momentum,
                                 double count, const Tensor& invstd, const Tensor& scale) override;
  void batch_norm_backward_params(const Tensor& sum_dy, const Tensor& sum_dy_xmu, const Tensor& invstd,
                                  const Tensor& scale, double count, const Tensor& sum_dy_xhat, const Tensor& xmu_coef,
                                  const Tensor& const_coef) override;
  void softmax(const Tensor& x, int64_t dim, bool log, const Tensor& out) override;
  void im2col(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
              std::array<int64_t, 2> padding, const Tensor& cols) override;
  void col2im(const Tensor& cols, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
              std::array<int64_t, 2> padding, const Tensor& out) override;
  void matmul_im2col(const Tensor& a, const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                     std::array<int64_t, 2> padding, const Tensor& out) override;
  void matmul_im2col_sum_batch(const Tensor& a, const Tensor& x, std::array<int64_t, 2> kernel,
                               std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                               const Tensor& out) override;
  void max_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> padding, const Tensor& out, const Tensor& indices) override;
  void max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) override;
  void adam_step(const std::vector<AdamParam>& params, const AdamOptions& options) override;
};

}  // namespace dl
