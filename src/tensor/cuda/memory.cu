// memory.cu — CUDA memory: the caching allocator, copies to and from the
// host, fill, arange, strided copy with dtype conversion, and Philox random
// numbers.
//
// Caching allocator. cudaMalloc and cudaFree are slow and synchronise the
// device, and a training step frees and allocates the same sizes over and
// over. So freed blocks are kept in free lists binned by size and handed out
// again; cudaMalloc is only called when the list for a size is empty, and
// cudaFree only when the cache is emptied (cuda_empty_cache, or when a
// cudaMalloc fails: then the cache is released and the call retried once).
// Sizes are rounded up to their bin (tensor/size_bins.h).
// Reusing a block right after it was freed is safe because every kernel and
// copy of the device runs on its backend's one stream (cuda_backend.h): the
// kernels that used the old tensor come before any that use the new one.
//
// Graph pools. A CUDA graph (tensor/cuda/graph.cu) replays the addresses it
// was captured with, so the blocks its kernels touch must not be handed to
// anyone else while it exists. During a capture every allocation is taken
// for the graph's pool, and every block freed goes back to that pool only
// (it may be reused later in the same capture: the replay runs in capture
// order). A pool block freed after the capture also returns to its pool.
// When the graph is destroyed, its pool's blocks return to the common lists.
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/convert.h"
#include "tensor/cuda/common.cuh"
#include "tensor/philox.h"
#include "tensor/size_bins.h"

namespace dl {

class CudaAllocator {
 public:
  void* allocate(size_t nbytes) {
    const size_t size = size_bin(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = capturing_ ? take(capturing_->free, size) : nullptr;
    if (!ptr) ptr = take(free_, size);
    if (ptr) {
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
    if (capturing_) pool_of_[ptr] = capturing_;
    sizes_[ptr] = size;
    stats_.bytes_in_use += static_cast<int64_t>(size);
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return ptr;
  }

  void deallocate(void* ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(ptr);
    check(it != sizes_.end(), "cuda: deallocate of a pointer this allocator did not hand out");
    auto owner = pool_of_.find(ptr);
    Pool* pool = owner != pool_of_.end() ? owner->second : capturing_;
    if (pool) {
      pool_of_[ptr] = pool;
      pool->free[it->second].push_back(ptr);
    } else {
      free_[it->second].push_back(ptr);
    }
    stats_.bytes_in_use -= static_cast<int64_t>(it->second);
    sizes_.erase(it);
  }

  // A graph's pool (see the header); begin_pool .. end_pool brackets its capture.
  int begin_pool() {
    std::lock_guard<std::mutex> lock(mutex_);
    check(!capturing_, "cuda: a CUDA graph capture is already under way on this device");
    const int id = next_pool_++;
    capturing_ = &pools_[id];
    return id;
  }
  void end_pool() {
    std::lock_guard<std::mutex> lock(mutex_);
    capturing_ = nullptr;
  }
  // The graph is gone (and the device idle): its blocks become ordinary.
  void release_pool(int id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto pool = pools_.find(id);
    if (pool == pools_.end()) return;
    for (auto& [size, list] : pool->second.free) free_[size].insert(free_[size].end(), list.begin(), list.end());
    for (auto it = pool_of_.begin(); it != pool_of_.end();) {
      it = it->second == &pool->second ? pool_of_.erase(it) : std::next(it);
    }
    if (capturing_ == &pool->second) capturing_ = nullptr;
    pools_.erase(pool);
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
  using FreeLists = std::map<size_t, std::vector<void*>>;  // bin size -> free blocks
  struct Pool {
    FreeLists free;
  };

  static void* take(FreeLists& lists, size_t size) {
    auto it = lists.find(size);
    if (it == lists.end() || it->second.empty()) return nullptr;
    void* ptr = it->second.back();
    it->second.pop_back();
    return ptr;
  }

  // Caller holds mutex_. Graph pools keep their blocks.
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
  FreeLists free_;
  std::unordered_map<void*, size_t> sizes_;    // block in use -> its bin size
  std::map<int, Pool> pools_;                  // graph pools by id
  std::unordered_map<void*, Pool*> pool_of_;   // blocks (in use or free) that belong to a pool
  Pool* capturing_ = nullptr;                  // the pool of the capture under way
  int next_pool_ = 0;
  CudaMemoryStats stats_;
};

// Pinned staging for copies from the host. A cudaMemcpyAsync from pageable
// memory first waits for the stream to drain (a host synchronisation); from
// page-locked memory it is queued like a kernel. So copies up to kSlotBytes
// are copied on the host into one of kSlots page-locked slots and sent from
// there; the host only waits if a slot's previous copy (kSlots copies ago)
// has not finished yet.
class PinnedStaging {
 public:
  static constexpr size_t kSlotBytes = size_t(4) << 20;
  static constexpr int kSlots = 4;

  ~PinnedStaging() {
    // Destroyed with the backend at exit, when the driver may be gone: no checks.
    for (Slot& slot : slots_) {
      if (slot.memory) cudaFreeHost(slot.memory);
      if (slot.done) cudaEventDestroy(slot.done);
    }
  }

  void copy(void* device, const void* host, size_t nbytes, cudaStream_t stream) {
    Slot& slot = slots_[next_];
    next_ = (next_ + 1) % kSlots;
    if (!slot.memory) {
      DL_CUDA_CHECK(cudaMallocHost(&slot.memory, kSlotBytes));
      DL_CUDA_CHECK(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming));
    } else {
      DL_CUDA_CHECK(cudaEventSynchronize(slot.done));
    }
    std::memcpy(slot.memory, host, nbytes);
    DL_CUDA_CHECK(cudaMemcpyAsync(device, slot.memory, nbytes, cudaMemcpyHostToDevice, stream));
    DL_CUDA_CHECK(cudaEventRecord(slot.done, stream));
  }

 private:
  struct Slot {
    void* memory = nullptr;
    cudaEvent_t done = nullptr;
  };
  Slot slots_[kSlots];
  int next_ = 0;
};

CudaBackend::CudaBackend(int index)
    : index_(index), allocator_(std::make_unique<CudaAllocator>()), staging_(std::make_unique<PinnedStaging>()) {
  DL_CUDA_CHECK(cudaSetDevice(index_));
  DL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}
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

bool CudaBackend::capturing() const {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  DL_CUDA_CHECK(cudaStreamIsCapturing(stream_, &status));
  return status != cudaStreamCaptureStatusNone;
}

int CudaBackend::begin_graph_pool() { return allocator_->begin_pool(); }
void CudaBackend::end_graph_pool() { allocator_->end_pool(); }
void CudaBackend::release_graph_pool(int id) { allocator_->release_pool(id); }

// The copy waits for the kernels queued before it on the stream, so the host
// sees their results; then the checks they queued are read (check_range).
void CudaBackend::copy_to_host(const Storage& src, size_t src_byte_offset, void* host, size_t nbytes) {
  if (nbytes == 0) return;
  activate();
  check(!capturing(), "cuda: a tensor is read back to the host inside a CUDA graph capture; the replay could not "
        "wait for it (read it after replay() instead)");
  DL_CUDA_CHECK(cudaMemcpyAsync(host, static_cast<const char*>(src.data()) + src_byte_offset, nbytes,
                                cudaMemcpyDeviceToHost, stream_));
  DL_CUDA_CHECK(cudaStreamSynchronize(stream_));
  raise_failed_checks();
}

void CudaBackend::copy_from_host(const void* host, Storage& dst, size_t dst_byte_offset, size_t nbytes) {
  if (nbytes == 0) return;
  activate();
  check(!capturing(), "cuda: a copy from host memory inside a CUDA graph capture would replay stale host data "
        "(copy the inputs into the graph's tensors before replay() instead)");
  void* device = static_cast<char*>(dst.data()) + dst_byte_offset;
  if (nbytes <= PinnedStaging::kSlotBytes) {
    staging_->copy(device, host, nbytes, stream_);
  } else {
    DL_CUDA_CHECK(cudaMemcpyAsync(device, host, nbytes, cudaMemcpyHostToDevice, stream_));
  }
}

namespace {

template <typename T>
__global__ void fill_kernel(int64_t n, StridedIndex<1> index, T* out, T value) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) out[index.offset(i)] = value;
}

template <typename T>
__global__ void arange_kernel(int64_t n, T* out, double start, double step) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) out[i] = convert<T>(start + static_cast<double>(i) * step);
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
    fill_kernel<T><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, index, device_data<T>(out), convert<T>(value));
    DL_CUDA_CHECK(cudaGetLastError());
  });
}

void CudaBackend::arange(const Tensor& out, double start, double step) {
  const int64_t n = out.numel();
  if (n == 0) return;
  activate();
  visit_cuda_dtype(out.dtype(), "arange", [&](auto tag) {
    using T = decltype(tag);
    arange_kernel<T><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, device_data<T>(out), start, step);
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
      copy_kernel<S, D><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, index, device_data<S>(src), device_data<D>(dst));
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
  random_kernel<<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, index, device_data<float>(out), normal, seed, offset);
  DL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace dl
