// gemm_kernels.h — the micro-kernels gemm.cpp drives (see gemm.h for the
// blocking). A micro-kernel multiplies one packed A micro-panel (kc steps of
// MR values) by one packed B micro-panel (kc steps of NR values) and writes
// the MR x NR tile to c (row stride ldc, unit column stride): c = tile, or
// c = c + tile when `accumulate`. The tile is summed over p = 0 .. kc-1 in
// order, starting from zero, so every kernel of one dtype has the same
// rounding structure per element.
#pragma once

#include <cstdint>

namespace dl {

constexpr int64_t kGemmMR = 6;   // rows of a C micro-tile
constexpr int64_t kGemmNR = 16;  // columns of a C micro-tile

// Defined in gemm_avx2.cpp, compiled for AVX2 + FMA by a target attribute:
// call only when the CPU supports both.
void gemm_micro_kernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);

// Packs one whole B micro-panel of a B whose columns are contiguous (a
// transposed operand): packed[p * 16 + t] = columns[t][p] for p < kc and
// t < 16, by 8 x 8 transposes in registers. packed is 32-byte aligned. Same
// conditions as the micro-kernel.
void gemm_pack_b_columns_avx2(const float* const* columns, int64_t kc, float* packed);

// The portable kernel, for every dtype (and float on CPUs without AVX2).
template <typename T>
void gemm_micro_kernel_portable(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, bool accumulate) {
  T tile[kGemmMR][kGemmNR] = {};
  for (int64_t p = 0; p < kc; ++p, a += kGemmMR, b += kGemmNR) {
    for (int64_t r = 0; r < kGemmMR; ++r) {
      const T a_r = a[r];
      for (int64_t t = 0; t < kGemmNR; ++t) tile[r][t] = T(tile[r][t] + a_r * b[t]);
    }
  }
  for (int64_t r = 0; r < kGemmMR; ++r) {
    T* c_row = c + r * ldc;
    for (int64_t t = 0; t < kGemmNR; ++t) c_row[t] = accumulate ? T(c_row[t] + tile[r][t]) : tile[r][t];
  }
}

}  // namespace dl
