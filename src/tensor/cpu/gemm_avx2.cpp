// gemm_avx2.cpp — the float micro-kernel for x86-64 CPUs with AVX2 and FMA.
// Only this function is compiled for those instructions (a target
// attribute), so the rest of the library stays portable; gemm.cpp calls it
// only after checking the CPU at run time. On other architectures the file
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

}  // namespace dl

#else

namespace dl {

void gemm_micro_kernel_avx2(int64_t, const float*, const float*, float*, int64_t, bool) {
  fail("gemm: the AVX2 micro-kernel was called on a CPU that is not x86-64");
}

}  // namespace dl

#endif
