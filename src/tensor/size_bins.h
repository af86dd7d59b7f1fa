// size_bins.h — the size classes of the caching allocators (CPU:
// tensor/cpu/memory.cpp, CUDA: tensor/cuda/memory.cu). A freed block is
// kept for a later request of the same class, so every request is rounded
// up to its class:
//   n <= 1 MiB:  a multiple of 512 bytes;
//   n  > 1 MiB:  a multiple of 2^(floor(log2 n) - 2), i.e. four classes per
//                power of two, so at most 25% of a block is rounding.
#pragma once

#include <cstddef>

namespace dl {

inline size_t size_bin(size_t n) {
  constexpr size_t kSmall = 512, kLarge = size_t(1) << 20;
  if (n <= kLarge) return n == 0 ? kSmall : (n + kSmall - 1) / kSmall * kSmall;
  size_t top = kLarge;  // the largest power of two <= n
  while (top <= n / 2) top *= 2;
  const size_t step = top / 4;
  return (n + step - 1) / step * step;
}

}  // namespace dl
