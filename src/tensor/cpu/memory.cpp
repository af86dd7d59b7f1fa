// memory.cpp — CPU memory, copies between layouts and dtypes, fill, random.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/convert.h"
#include "tensor/cpu/strided.h"
#include "tensor/philox.h"

namespace dl {

namespace {
constexpr size_t kAlignment = 64;  // a cache line, and enough for any SIMD load
}  // namespace

void* CpuBackend::allocate(size_t nbytes) {
  // aligned_alloc needs a size that is a multiple of the alignment (and > 0).
  const size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  void* ptr = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  check(ptr != nullptr, "cpu: out of memory allocating ", nbytes, " bytes");
  return ptr;
}

void CpuBackend::deallocate(void* ptr) { std::free(ptr); }

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
