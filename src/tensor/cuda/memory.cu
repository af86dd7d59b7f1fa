// memory.cu — CUDA memory: the caching allocator, copies to and from the
// host, fill, strided copy with dtype conversion, and Philox random numbers.
//
// Caching allocator. cudaMalloc and cudaFree are slow and synchronise the
// device, and a training step frees and allocates the same sizes over and
// over. So freed blocks are kept in free lists binned by size and handed out
// again; cudaMalloc is only called when the list for a size is empty, and
// cudaFree only when the cache is emptied (cuda_empty_cache, or when a
// cudaMalloc fails: then the cache is released and the call retried once).
// Sizes are rounded up to their bin:
//   n <= 1 MiB:  a multiple of 512 bytes;
//   n  > 1 MiB:  a multiple of 2^(floor(log2 n) - 2), i.e. four bins per
//                power of two, so at most 25% of a block is rounding.
// Reusing a block right after it was freed is safe because every kernel and
// copy runs on the device's default stream (cuda_backend.h): the kernels
// that used the old tensor come before any that use the new one.
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/convert.h"
#include "tensor/cuda/common.cuh"
#include "tensor/philox.h"

namespace dl {

class CudaAllocator {
 public:
  void* allocate(size_t nbytes) {
    const size_t size = bin_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = nullptr;
    std::vector<void*>& free_list = free_[size];
    if (!free_list.empty()) {
      ptr = free_list.back();
      free_list.pop_back();
      ++stats_.cache_hits;
    } else {
      if (cudaMalloc(&ptr, size) != cudaSuccess) {
        cudaGetLastError();  // clear the error; the cached blocks may be enough
        release_cached();
        DL_CUDA_CHECK(cudaMalloc(&ptr, size));
      }
      ++stats_.device_allocs;
      stats_.bytes_reserved += static_cast<int64_t>(size);
    }
    sizes_[ptr] = size;
    stats_.bytes_in_use += static_cast<int64_t>(size);
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return ptr;
  }

  void deallocate(void* ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(ptr);
    check(it != sizes_.end(), "cuda: deallocate of a pointer this allocator did not hand out");
    free_[it->second].push_back(ptr);
    stats_.bytes_in_use -= static_cast<int64_t>(it->second);
    sizes_.erase(it);
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached();
  }

  CudaMemoryStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  static size_t bin_size(size_t n) {
    constexpr size_t kSmall = 512, kLarge = size_t(1) << 20;
    if (n <= kLarge) return n == 0 ? kSmall : (n + kSmall - 1) / kSmall * kSmall;
    size_t top = kLarge;  // the largest power of two <= n
    while (top <= n / 2) top *= 2;
    const size_t step = top / 4;
    return (n + step - 1) / step * step;
  }

  // Caller holds mutex_.
  void release_cached() {
    for (auto& [size, list] : free_) {
      for (void* ptr : list) {
        DL_CUDA_CHECK(cudaFree(ptr));
        ++stats_.device_frees;
        stats_.bytes_reserved -= static_cast<int64_t>(size);
      }
      list.clear();
    }
  }

  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // bin size -> free blocks
  std::unordered_map<void*, size_t> sizes_;    // block in use -> its bin size
  CudaMemoryStats stats_;
};

CudaBackend::CudaBackend(int index) : index_(index), allocator_(std::make_unique<CudaAllocator>()) {}
CudaBackend::~CudaBackend() = default;

void* CudaBackend::allocate(size_t nbytes) {
  activate();
  return allocator_->allocate(nbytes);
}

void CudaBackend::deallocate(void* ptr) { allocator_->deallocate(ptr); }

CudaMemoryStats CudaBackend::memory_stats() const { return allocator_->stats(); }

void CudaBackend::empty_cache() {
  activate();
  allocator_->empty_cache();
}

// cudaMemcpy on the default stream waits for the kernels issued before it,
// so a host read sees their results.
void CudaBackend::copy_to_host(const Storage& src, size_t src_byte_offset, void* host, size_t nbytes) {
  if (nbytes == 0) return;
  activate();
  DL_CUDA_CHECK(cudaMemcpy(host, static_cast<const char*>(src.data()) + src_byte_offset, nbytes, cudaMemcpyDeviceToHost));
}

void CudaBackend::copy_from_host(const void* host, Storage& dst, size_t dst_byte_offset, size_t nbytes) {
  if (nbytes == 0) return;
  activate();
  DL_CUDA_CHECK(cudaMemcpy(static_cast<char*>(dst.data()) + dst_byte_offset, host, nbytes, cudaMemcpyHostToDevice));
}

namespace {

template <typename T>
__global__ void fill_kernel(int64_t n, StridedIndex<1> index, T* out, T value) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) out[index.offset(i)] = value;
}

template <typename S, typename D>
__global__ void copy_kernel(int64_t n, StridedIndex<2> index, const S* src, D* dst) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    int64_t off[2];
    index.offsets(i, off);
    dst[off[1]] = convert<D>(src[off[0]]);
  }
}

// Element i (row-major) uses Philox counter {i, offset}, as on the CPU.
__global__ void random_kernel(int64_t n, StridedIndex<1> index, float* out, bool normal, uint64_t seed,
                              uint64_t offset) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) {
    const uint64_t counter = static_cast<uint64_t>(i);
    out[index.offset(i)] =
        normal ? philox_normal<float>(seed, offset, counter) : philox_uniform<float>(seed, offset, counter);
  }
}

}  // namespace

void CudaBackend::fill(const Tensor& out, double value) {
  const int64_t n = out.numel();
  if (n == 0) return;
  activate();
  visit_cuda_dtype(out.dtype(), "fill", [&](auto tag) {
    using T = decltype(tag);
    const StridedIndex<1> index = make_strided_index<1>(out.shape(), {&out.strides()});
    fill_kernel<T><<<grid_for(n), kThreads>>>(n, index, device_data<T>(out), convert<T>(value));
    DL_CUDA_CHECK(cudaGetLastError());
  });
}

void CudaBackend::copy(const Tensor& src, const Tensor& dst) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  activate();
  visit_cuda_dtype(src.dtype(), "copy", [&](auto src_tag) {
    visit_cuda_dtype(dst.dtype(), "copy", [&](auto dst_tag) {
      using S = decltype(src_tag);
      using D = decltype(dst_tag);
      const StridedIndex<2> index = make_strided_index<2>(dst.shape(), {&src.strides(), &dst.strides()});
      copy_kernel<S, D><<<grid_for(n), kThreads>>>(n, index, device_data<S>(src), device_data<D>(dst));
      DL_CUDA_CHECK(cudaGetLastError());
    });
  });
}

void CudaBackend::random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) {
  check(out.dtype() == DType::Float32, "random: expected a float32 tensor on CUDA, got ", out.dtype());
  const int64_t n = out.numel();
  if (n == 0) return;
  activate();
  const StridedIndex<1> index = make_strided_index<1>(out.shape(), {&out.strides()});
  random_kernel<<<grid_for(n), kThreads>>>(n, index, device_data<float>(out), normal, seed, offset);
  DL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace dl
