// fold.h — an index map i -> offset that lets one GEMM walk several tensor
// dims as if they were one (tensor/cuda/matmul.cu):
//   offset(i) = (i / inner) * outer_stride + (i % inner) * inner_stride.
// Example: the columns of W @ cols_n for every image n of cols [N, K, L] are
// one run of N*L columns, column i = (n, l) = (i / L, i % L) at offset
// n * K*L + l. With inner = 1 it is a plain stride: offset(i) = i * outer_stride.
//
// The division by the run-time `inner` is the costly part of a GEMM's load
// addresses, so it is done as a multiply-high and a shift (Granlund and
// Montgomery's method): with l = ceil(log2 inner) and
//   magic = ceil(2^(31 + l) / inner)  (fits in 32 bits),
//   i / inner = floor(i * magic / 2^(31 + l))  for every 0 <= i < 2^31,
// because magic * inner - 2^(31 + l) < inner <= 2^l makes the error term of
// i * magic / 2^(31 + l) smaller than 1 / inner. Header-only and usable on
// the host too, so that a CPU test can check it against plain division.
#pragma once

#include <cstdint>

#include "tensor/host_device.h"

namespace dl {

struct Fold {
  uint32_t inner = 1, magic = 0, shift = 0;
  int64_t inner_stride = 0, outer_stride = 0;
};

// A plain stride: offset(i) = i * stride.
inline Fold plain_fold(int64_t stride) { return {1, 0, 0, 0, stride}; }

// `inner` in [1, 2^31).
inline Fold make_fold(int64_t inner, int64_t inner_stride, int64_t outer_stride) {
  if (inner == 1) return plain_fold(outer_stride);
  uint32_t log2_up = 0;
  while ((int64_t(1) << log2_up) < inner) ++log2_up;
  const uint64_t power = uint64_t(1) << (31 + log2_up);
  const uint64_t magic = (power + static_cast<uint64_t>(inner) - 1) / static_cast<uint64_t>(inner);
  return {static_cast<uint32_t>(inner), static_cast<uint32_t>(magic), log2_up - 1, inner_stride, outer_stride};
}

DL_HOST_DEVICE inline uint32_t mul_high(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// i / f.inner, for 0 <= i < 2^31.
DL_HOST_DEVICE inline uint32_t fold_quotient(const Fold& f, uint32_t i) {
  return f.inner == 1 ? i : mul_high(i, f.magic) >> f.shift;
}

DL_HOST_DEVICE inline int64_t fold_offset(const Fold& f, uint32_t i) {
  const uint32_t q = fold_quotient(f, i);
  return static_cast<int64_t>(q) * f.outer_stride + static_cast<int64_t>(i - q * f.inner) * f.inner_stride;
}

}  // namespace dl
