// gemm_avx2.cpp — the float micro-kernel for x86-64 CPUs with AVX2 and FMA,
// and the packing of a transposed B panel by register transposes. Only these
// functions are compiled for those instructions (a target attribute), so the
// rest of the library stays portable; gemm.cpp calls them only after
// checking the CPU at run time. On other architectures the file
// defines a stub that is never called.
#include "tensor/cpu/gemm_kernels.h"

#include "tensor/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace dl {

// The 6 x 16 tile is 12 registers of 8 floats: row r is acc[r][0] (columns
// 0-7) and acc[r][1] (8-15). Each step p broadcasts a[p*6 + r] and does
// acc[r][h] += a_r * b[p*16 + 8h .. +7] with one FMA per register.
__attribute__((target("avx2,fma"))) void gemm_micro_kernel_avx2(int64_t kc, const float* a, const float* b, float* c,
                                                                int64_t ldc, bool accumulate) {
  __m256 acc00 = _mm256_setzero_ps(), acc01 = _mm256_setzero_ps();
  __m256 acc10 = _mm256_setzero_ps(), acc11 = _mm256_setzero_ps();
  __m256 acc20 = _mm256_setzero_ps(), acc21 = _mm256_setzero_ps();
  __m256 acc30 = _mm256_setzero_ps(), acc31 = _mm256_setzero_ps();
  __m256 acc40 = _mm256_setzero_ps(), acc41 = _mm256_setzero_ps();
  __m256 acc50 = _mm256_setzero_ps(), acc51 = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, a += kGemmMR, b += kGemmNR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 a_r = _mm256_broadcast_ss(a + 0);
    acc00 = _mm256_fmadd_ps(a_r, b0, acc00);
    acc01 = _mm256_fmadd_ps(a_r, b1, acc01);
    a_r = _mm256_broadcast_ss(a + 1);
    acc10 = _mm256_fmadd_ps(a_r, b0, acc10);
    acc11 = _mm256_fmadd_ps(a_r, b1, acc11);
    a_r = _mm256_broadcast_ss(a + 2);
    acc20 = _mm256_fmadd_ps(a_r, b0, acc20);
    acc21 = _mm256_fmadd_ps(a_r, b1, acc21);
    a_r = _mm256_broadcast_ss(a + 3);
    acc30 = _mm256_fmadd_ps(a_r, b0, acc30);
    acc31 = _mm256_fmadd_ps(a_r, b1, acc31);
    a_r = _mm256_broadcast_ss(a + 4);
    acc40 = _mm256_fmadd_ps(a_r, b0, acc40);
    acc41 = _mm256_fmadd_ps(a_r, b1, acc41);
    a_r = _mm256_broadcast_ss(a + 5);
    acc50 = _mm256_fmadd_ps(a_r, b0, acc50);
    acc51 = _mm256_fmadd_ps(a_r, b1, acc51);
  }
  const __m256 rows[kGemmMR][2] = {{acc00, acc01}, {acc10, acc11}, {acc20, acc21},
                                   {acc30, acc31}, {acc40, acc41}, {acc50, acc51}};
  for (int64_t r = 0; r < kGemmMR; ++r) {
    float* c_row = c + r * ldc;
    for (int64_t h = 0; h < 2; ++h) {
      const __m256 value = accumulate ? _mm256_add_ps(_mm256_loadu_ps(c_row + 8 * h), rows[r][h]) : rows[r][h];
      _mm256_storeu_ps(c_row + 8 * h, value);
    }
  }
}

namespace {

// rows[i] = column i of the 8 x 8 block held in rows[0..7] (one row each).
__attribute__((target("avx2,fma"))) inline void transpose_8x8(__m256 rows[8]) {
  // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
  const __m256 t0 = _mm256_unpacklo_ps(rows[0], rows[1]), t1 = _mm256_unpackhi_ps(rows[0], rows[1]);
  const __m256 t2 = _mm256_unpacklo_ps(rows[2], rows[3]), t3 = _mm256_unpackhi_ps(rows[2], rows[3]);
  const __m256 t4 = _mm256_unpacklo_ps(rows[4], rows[5]), t5 = _mm256_unpackhi_ps(rows[4], rows[5]);
  const __m256 t6 = _mm256_unpacklo_ps(rows[6], rows[7]), t7 = _mm256_unpackhi_ps(rows[6], rows[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  rows[0] = _mm256_permute2f128_ps(u0, u4, 0x20), rows[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  rows[1] = _mm256_permute2f128_ps(u1, u5, 0x20), rows[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  rows[2] = _mm256_permute2f128_ps(u2, u6, 0x20), rows[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  rows[3] = _mm256_permute2f128_ps(u3, u7, 0x20), rows[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

}  // namespace

// Each 8 x 8 block (8 columns t, 8 steps p) is loaded as 8 vectors along p,
// transposed, and stored as 8 half-rows of the panel (8 values of t each).
__attribute__((target("avx2,fma"))) void gemm_pack_b_columns_avx2(const float* const* columns, int64_t kc,
                                                                  float* packed) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int64_t half = 0; half < 2; ++half) {
      __m256 block[8];
      for (int64_t t = 0; t < 8; ++t) block[t] = _mm256_loadu_ps(columns[8 * half + t] + p);
      transpose_8x8(block);
      for (int64_t i = 0; i < 8; ++i) _mm256_store_ps(packed + (p + i) * kGemmNR + 8 * half, block[i]);
    }
  }
  for (; p < kc; ++p)
    for (int64_t t = 0; t < kGemmNR; ++t) packed[p * kGemmNR + t] = columns[t][p];
}

}  // namespace dl

#else

namespace dl {

void gemm_micro_kernel_avx2(int64_t, const float*, const float*, float*, int64_t, bool) {
  fail("gemm: the AVX2 micro-kernel was called on a CPU that is not x86-64");
}

void gemm_pack_b_columns_avx2(const float* const*, int64_t, float*) {
  fail("gemm: the AVX2 packing was called on a CPU that is not x86-64");
}

}  // namespace dl

#endif
