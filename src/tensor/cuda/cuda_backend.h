// cuda_backend.h — the CUDA implementation of every kernel in backend.h
// (compiled only when nvcc is found; see the Makefile). Our own kernels: no
// cuBLAS, no cuDNN. Each kernel family has its own file, mirroring cpu/:
//   runtime.cu      device discovery, one CudaBackend per visible GPU
//   memory.cu       caching allocator (with graph pools), host copies, fill, arange, copy, random
//   graph.cu        CUDA graph capture and replay (tensor/cuda_graph.h)
//   elementwise.cu  unary, binary, where, range checks
//   reduce.cu       sum / max / argmax over dims
//   matmul.cu       tiled GEMM with folded batch dims and split-K
//   softmax.cu      softmax and log-softmax
//   conv.cu         im2col / col2im, max-pool forward and backward
//   optim.cu        fused optimizer updates (Adam)
//   norm.cu         batch_norm's fused passes (stats, elemt, backward_reduce)
//                   and leaky_relu_backward
// common.cuh holds what the .cu files share: the error-checking macro, the
// strided-index helper and the launch configuration.
//
// Stream model: every kernel and copy of a device runs on its backend's one
// stream (cuda_stream() in common.cuh), so work is ordered as it is issued,
// a host read waits for the kernels before it, and a freed block can be
// reused by the next allocation at once. A stream of our own rather than the
// legacy default one, because only such a stream can be captured into a
// CUDA graph. Nothing else synchronises with the host: copies from the host
// are staged through page-locked memory, and checks on the data
// (check_range) are read back with the next host read. float64 tensors are
// refused on CUDA when they are created (Tensor::empty), so the kernels exist
// for float32, int64, uint8 and bool.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tensor/backend.h"

// cuda_runtime.h's cudaStream_t is CUstream_st*; this header is also read by
// g++ (backend.cpp), which does not see the CUDA headers.
struct CUstream_st;

namespace dl {

class CudaAllocator;  // memory.cu
class PinnedStaging;  // memory.cu

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int index);
  ~CudaBackend() override;
  const char* name() const override { return "cuda"; }

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr) override;
  void copy_to_host(const Storage& src, size_t src_byte_offset, void* host, size_t nbytes) override;
  void copy_from_host(const void* host, Storage& dst, size_t dst_byte_offset, size_t nbytes) override;

  void fill(const Tensor& out, double value) override;
  void arange(const Tensor& out, double start, double step) override;
  void copy(const Tensor& src, const Tensor& dst) override;
  void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) override;

  void unary(UnaryOp op, const Tensor& x, const Tensor& out, double a, double b) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void check_range(const Tensor& x, double lo, double hi, const std::string& message) override;
  void leaky_relu_backward(const Tensor& x, const Tensor& dy, double slope, const Tensor& dx) override;

  void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, const Tensor& out) override;
  void matmul(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void matmul_sum_batch(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var) override;
  void batch_norm_elemt(const Tensor& x, const Tensor& mean, const Tensor& scale, const Tensor& shift,
                        const Tensor& dy, const Tensor& dy_scale, const Tensor& out) override;
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
  void max_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> padding, const Tensor& out, const Tensor& indices) override;
  void max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) override;
  void adam_step(const std::vector<AdamParam>& params, const AdamOptions& options) override;

  CudaMemoryStats memory_stats() const;
  void empty_cache();

  // For graph.cu: the stream, whether it is being captured, and the
  // allocator's graph pools (memory.cu, "Graph pools").
  CUstream_st* stream() const { return stream_; }
  bool capturing() const override;
  int begin_graph_pool();
  void end_graph_pool();
  void release_graph_pool(int id);

  // Makes this backend's GPU the calling thread's current device and its
  // stream the current stream; every method starts with it, so that kernels
  // land on the tensor's device.
  void activate() const;

 private:
  // Raises the first failed check_range since the last call (and clears the
  // flags); called after every host read.
  void raise_failed_checks();

  int index_;
  CUstream_st* stream_ = nullptr;
  std::unique_ptr<CudaAllocator> allocator_;
  std::unique_ptr<PinnedStaging> staging_;
  // check_range: one flag per distinct message, set on the device.
  int* check_flags_ = nullptr;
  std::vector<std::string> check_messages_;
};

// The backend of a visible CUDA device; a one-line error otherwise.
CudaBackend& cuda_backend(Device device);

}  // namespace dl
