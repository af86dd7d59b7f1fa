// gemm.h — the CPU's general matrix multiply, C = A @ B (or C += A @ B), in
// the style of GotoBLAS / BLIS: operands are copied ("packed") block by block
// into contiguous buffers laid out exactly as a small register-tiled
// micro-kernel reads them, so the kernel streams from L1 and L2 whatever the
// operands' strides are.
//
// Blocking. With C [m, n] = A [m, k] @ B [k, n] the loops are, outermost first,
//   for jc in steps of NC over n:           B block  B[pc:pc+KC, jc:jc+NC]  (lives in L3 / L2)
//     for pc in steps of KC over k:         packed once, shared by every ic below
//       for ic in steps of MC over m:       A block  A[ic:ic+MC, pc:pc+KC]  (lives in L2)
//         for jr in steps of NR:            B micro-panel, KC x NR          (lives in L1)
//           for ir in steps of MR:          A micro-panel, MR x KC
//             C[ir:ir+MR, jr:jr+NR] += A micro-panel @ B micro-panel   (the micro-kernel)
// The micro-kernel keeps the MR x NR tile of C in registers for the whole KC
// loop: each step loads NR values of B and MR values of A and does MR * NR
// multiply-adds, so with MR = 6, NR = 16 (float, AVX2: 12 accumulator
// registers of 8 lanes, 2 for B, 1 for a broadcast A value) it does 96 FMAs
// per 22 loads. Panels at the edges are padded with zeros when packed, so the
// kernel always computes a full tile; tiles that stick out of C, or whose C
// elements are not a dense row-major block, go through a small buffer.
//
// Operands are described by offset tables, not strides: element (r, c) of a
// matrix is at data[rows[r] + cols[c]]. A plain strided matrix has
// rows[r] = r * row_stride (transposes and slices cost nothing), and a batch
// folded into one of the dims has two-level offsets, so that
// out[b] = W @ x[b] over a batch (a shared weight) is ONE product with
// n' = batch * n, and sum_b a[b] @ w[b] is ONE product with k' = batch * k.
//
// Determinism: C[i, j] is always summed over k in the same order: in blocks
// of KC (a constant), each block accumulated in its own register from zero
// and then added to C. Threads split C into rectangles (never k), so the
// result is bit-identical for every thread count.
#pragma once

#include <cstdint>
#include <vector>

namespace dl {

// Element (r, c) is data[rows[r] + cols[c]]; the tables are as long as the
// matrix's rows and columns.
template <typename T>
struct GemmMatrix {
  T* data;
  const int64_t* rows;
  const int64_t* cols;
};

// C = A @ B, or C += A @ B when `accumulate`, for A [m, k], B [k, n],
// C [m, n]. C must not overlap A or B. Instantiated for every numeric dtype;
// float uses the AVX2 / FMA micro-kernel when the CPU has it.
template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, GemmMatrix<const T> a, GemmMatrix<const T> b, GemmMatrix<T> c,
          bool accumulate);

// {0, stride, 2 * stride, ...}: the offsets of a plain strided dim.
std::vector<int64_t> strided_offsets(int64_t count, int64_t stride);
// Index i = outer * inner_count + inner of a dim that folds two dims into
// one maps to outer * outer_stride + inner * inner_stride.
std::vector<int64_t> folded_offsets(int64_t outer_count, int64_t outer_stride, int64_t inner_count,
                                    int64_t inner_stride);

// Which float micro-kernel gemm uses. Tests force Portable to cover the
// fallback on CPUs that have AVX2.
enum class GemmKernel { Avx2Fma, Portable };
GemmKernel gemm_kernel();
// Portable always works; Avx2Fma fails with an error on a CPU without it.
void set_gemm_kernel(GemmKernel kernel);
const char* gemm_kernel_name(GemmKernel kernel);

}  // namespace dl
