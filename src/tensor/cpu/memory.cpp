// memory.cpp — CPU memory, copies between layouts and dtypes, fill, random.
//
// Memory comes from a small caching allocator: a training step frees and
// allocates the same sizes every iteration, and large blocks handed back to
// the C library go back to the operating system, so each new one costs page
// faults and the kernel zeroing its pages (about 4% of the InfoGAN step on
// 2 cores). Freed blocks are kept in free lists by size class
// (tensor/size_bins.h) and handed out again. Under AddressSanitizer every
// block goes straight back to free(), so that a use after free is still
// reported.
//
// Blocks of 2 MB and more are aligned to 2 MB and marked for transparent
// huge pages (Linux honours the hint where THP is in "madvise" mode, as on
// our machines): the GEMM's packing walks large activations row by row, a
// new 4 KB page every few rows, and with 2 MB pages the step is about 3%
// faster on 2 cores.
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/convert.h"
#include "tensor/cpu/strided.h"
#include "tensor/philox.h"
#include "tensor/size_bins.h"

namespace dl {

namespace {

constexpr size_t kAlignment = 64;  // a cache line, and enough for any SIMD load
constexpr size_t kHugePage = size_t(2) << 20;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheBlocks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCacheBlocks = false;
#else
constexpr bool kCacheBlocks = true;
#endif
#else
constexpr bool kCacheBlocks = true;
#endif

class HostBlockCache {
 public:
  void* allocate(size_t nbytes) {
    const size_t size = size_bin(nbytes);  // a multiple of 512, so of the alignment too
    if (kCacheBlocks) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* ptr = it->second.back();
        it->second.pop_back();
        sizes_[ptr] = size;
        return ptr;
      }
    }
    const bool huge = kCacheBlocks && size >= kHugePage;
    void* ptr = std::aligned_alloc(huge ? kHugePage : kAlignment, size);
    check(ptr != nullptr, "cpu: out of memory allocating ", nbytes, " bytes");
    if (huge) madvise(ptr, size, MADV_HUGEPAGE);  // a hint: without it, 4 KB pages
    if (kCacheBlocks) {
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[ptr] = size;
    }
    return ptr;
  }

  void deallocate(void* ptr) {
    if (!kCacheBlocks) return std::free(ptr);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(ptr);
    check(it != sizes_.end(), "cpu: deallocate of a pointer this allocator did not hand out");
    free_[it->second].push_back(ptr);
    sizes_.erase(it);
  }

 private:
  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // size class -> free blocks
  std::unordered_map<void*, size_t> sizes_;    // block in use -> its size class
};

// Never destroyed: tensors with static storage duration may free their
// memory after main() returns.
HostBlockCache& host_cache() {
  static auto* cache = new HostBlockCache();
  return *cache;
}

}  // namespace

void* CpuBackend::allocate(size_t nbytes) { return host_cache().allocate(nbytes); }

void CpuBackend::deallocate(void* ptr) { host_cache().deallocate(ptr); }

// memcpy's pointers must be valid even for 0 bytes, and an empty
// std::vector's data() may be null, hence the early returns.
void CpuBackend::copy_to_host(const Storage& src, size_t src_byte_offset, void* host, size_t nbytes) {
  if (nbytes == 0) return;
  std::memcpy(host, static_cast<const char*>(src.data()) + src_byte_offset, nbytes);
}

void CpuBackend::copy_from_host(const void* host, Storage& dst, size_t dst_byte_offset, size_t nbytes) {
  if (nbytes == 0) return;
  std::memcpy(static_cast<char*>(dst.data()) + dst_byte_offset, host, nbytes);
}

void CpuBackend::fill(const Tensor& out, double value) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T v = convert<T>(value);
    parallel_for_each_strided_row<1>(out.shape(), {&out.strides()},
                                     [&](const auto& off, int64_t count, const auto& step) {
                                       if (step[0] == 1) std::fill(o + off[0], o + off[0] + count, v);
                                       else for (int64_t i = 0; i < count; ++i) o[off[0] + i * step[0]] = v;
                                     });
  });
}

void CpuBackend::copy(const Tensor& src, const Tensor& dst) {
  visit_dtype(src.dtype(), [&](auto src_tag) {
    visit_dtype(dst.dtype(), [&](auto dst_tag) {
      using S = decltype(src_tag);
      using D = decltype(dst_tag);
      const S* s = src.data<S>();
      D* d = dst.data<D>();
      parallel_for_each_strided_row<2>(
          dst.shape(), {&src.strides(), &dst.strides()}, [&](const auto& off, int64_t count, const auto& step) {
            if (step[0] == 1 && step[1] == 1) {
              for (int64_t i = 0; i < count; ++i) d[off[1] + i] = convert<D>(s[off[0] + i]);
            } else {
              for (int64_t i = 0; i < count; ++i) d[off[1] + i * step[1]] = convert<D>(s[off[0] + i * step[0]]);
            }
          });
    });
  });
}

void CpuBackend::random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) {
  visit_floating(out.dtype(), "random", [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    uint64_t index = 0;  // row-major element number: the Philox counter
    for_each_strided<1>(out.shape(), {&out.strides()}, [&](const auto& off) {
      o[off[0]] = normal ? philox_normal<T>(seed, offset, index) : philox_uniform<T>(seed, offset, index);
      ++index;
    });
  });
}

}  // namespace dl
