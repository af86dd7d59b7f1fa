// gemm.cpp — the packed, blocked, threaded GEMM described in gemm.h.
#include "tensor/cpu/gemm.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "tensor/cpu/gemm_kernels.h"
#include "tensor/cpu/thread_pool.h"
#include "tensor/error.h"

namespace dl {

namespace {

constexpr int64_t MR = kGemmMR, NR = kGemmNR;
// KC fixes the summation order (see gemm.h), so it never depends on the
// thread count or the shapes. 256 steps keep an A micro-panel (6 KB) and a
// B micro-panel (16 KB, float) in a 32-48 KB L1 together.
constexpr int64_t KC = 256;
// MC x KC of A (144 KB, float) stays in L2 while every B micro-panel of
// the block passes by; KC x NC of B (2 MB) is reused by every A block.
constexpr int64_t MC = 144;   // a multiple of MR
constexpr int64_t NC = 2048;  // a multiple of NR
// Below this many multiply-adds per thread, waking threads costs more than
// it saves.
constexpr int64_t kMinWorkPerThread = int64_t(1) << 20;

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

GemmKernel& selected_kernel() {
  static GemmKernel kernel = cpu_has_avx2_fma() ? GemmKernel::Avx2Fma : GemmKernel::Portable;
  return kernel;
}

template <typename T>
using MicroKernel = void (*)(int64_t, const T*, const T*, T*, int64_t, bool);

template <typename T>
MicroKernel<T> micro_kernel() {
  if constexpr (std::is_same_v<T, float>) {
    if (selected_kernel() == GemmKernel::Avx2Fma) return gemm_micro_kernel_avx2;
  }
  return gemm_micro_kernel_portable<T>;
}

// offsets[0 .. count) = first, first + 1, ...: a unit-stride run.
bool is_unit_run(const int64_t* offsets, int64_t count) {
  for (int64_t i = 1; i < count; ++i)
    if (offsets[i] != offsets[0] + i) return false;
  return true;
}

// A per-thread scratch buffer of at least `count` T, 64-byte aligned (the
// AVX2 kernel uses aligned loads on packed B). Reused across calls.
template <typename T>
T* scratch(std::vector<unsigned char>& storage, int64_t count) {
  const size_t bytes = static_cast<size_t>(count) * sizeof(T) + 64;
  if (storage.size() < bytes) storage.resize(bytes);
  const uintptr_t address = reinterpret_cast<uintptr_t>(storage.data());
  return reinterpret_cast<T*>(storage.data() + ((64 - address % 64) % 64));
}

// Packs A[i0 : i0+mc, p0 : p0+kc] as ceil(mc / MR) micro-panels: panel q
// holds, for each p, the MR values A[i0 + q*MR + r, p0 + p] (zero past m).
// The loops run along whichever index is contiguous in memory: along p for
// a row-major A, along r for a transposed one (a weight W^T in a
// convolution's backward), which would otherwise read a new cache line for
// every element. Both orders write the same panel.
template <typename T>
void pack_a(const GemmMatrix<const T>& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T* packed) {
  const int64_t* cols = a.cols + p0;
  const bool unit_cols = is_unit_run(cols, kc);
  for (int64_t q = 0; q * MR < mc; ++q, packed += MR * kc) {
    const int64_t rows = std::min(MR, mc - q * MR);
    const int64_t* row_offsets = a.rows + i0 + q * MR;
    if (!unit_cols && rows == MR && is_unit_run(row_offsets, MR)) {
      const T* src = a.data + row_offsets[0];
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t r = 0; r < MR; ++r) packed[p * MR + r] = src[cols[p] + r];
      continue;
    }
    for (int64_t r = 0; r < rows; ++r) {
      const T* src = a.data + row_offsets[r];
      if (unit_cols) {
        src += cols[0];
        for (int64_t p = 0; p < kc; ++p) packed[p * MR + r] = src[p];
      } else {
        for (int64_t p = 0; p < kc; ++p) packed[p * MR + r] = src[cols[p]];
      }
    }
    for (int64_t r = rows; r < MR; ++r)
      for (int64_t p = 0; p < kc; ++p) packed[p * MR + r] = T(0);
  }
}

// Packs B[p0 : p0+kc, j0 : j0+nc] as ceil(nc / NR) micro-panels: panel q
// holds, for each p, the NR values B[p0 + p, j0 + q*NR + t] (zero past n).
// As in pack_a, a B whose columns are not contiguous but whose rows are (the
// transposed im2col matrix of a weight gradient) is read column by column.
template <typename T>
void pack_b(const GemmMatrix<const T>& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T* packed) {
  const int64_t* row_offsets = b.rows + p0;
  const bool rows_step_by_one = kc > 1 && is_unit_run(row_offsets, kc);
  for (int64_t q = 0; q * NR < nc; ++q, packed += NR * kc) {
    const int64_t cols = std::min(NR, nc - q * NR);
    const int64_t* col_offsets = b.cols + j0 + q * NR;
    if (cols == NR && is_unit_run(col_offsets, NR)) {
      for (int64_t p = 0; p < kc; ++p)
        std::memcpy(packed + p * NR, b.data + row_offsets[p] + col_offsets[0], NR * sizeof(T));
      continue;
    }
    if (rows_step_by_one) {
      if constexpr (std::is_same_v<T, float>) {
        if (cols == NR && selected_kernel() == GemmKernel::Avx2Fma) {
          const float* columns[NR];
          for (int64_t t = 0; t < NR; ++t) columns[t] = b.data + col_offsets[t] + row_offsets[0];
          gemm_pack_b_columns_avx2(columns, kc, packed);
          continue;
        }
      }
      for (int64_t t = 0; t < NR; ++t) {
        if (t < cols) {
          const T* src = b.data + col_offsets[t];
          for (int64_t p = 0; p < kc; ++p) packed[p * NR + t] = src[row_offsets[p]];
        } else {
          for (int64_t p = 0; p < kc; ++p) packed[p * NR + t] = T(0);
        }
      }
      continue;
    }
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = b.data + row_offsets[p];
      T* dst = packed + p * NR;
      for (int64_t t = 0; t < cols; ++t) dst[t] = src[col_offsets[t]];
      for (int64_t t = cols; t < NR; ++t) dst[t] = T(0);
    }
  }
}

// One micro-tile: C[i : i+rows, j : j+cols] (+)= packed A panel @ packed B
// panel. When the tile is whole and its C elements form a dense row-major
// block the kernel writes C directly; otherwise it writes a local tile that
// is then added (or copied) element by element: c + tile either way, so both
// paths round identically.
template <typename T>
void compute_tile(MicroKernel<T> kernel, int64_t kc, const T* a_panel, const T* b_panel, const GemmMatrix<T>& c,
                  int64_t i, int64_t rows, int64_t j, int64_t cols, bool accumulate) {
  const int64_t* row_offsets = c.rows + i;
  const int64_t* col_offsets = c.cols + j;
  if (rows == MR && cols == NR && is_unit_run(col_offsets, NR)) {
    const int64_t ldc = row_offsets[1] - row_offsets[0];
    bool dense = true;
    for (int64_t r = 2; r < MR && dense; ++r) dense = row_offsets[r] == row_offsets[0] + r * ldc;
    if (dense && ldc >= NR) {
      kernel(kc, a_panel, b_panel, c.data + row_offsets[0] + col_offsets[0], ldc, accumulate);
      return;
    }
  }
  alignas(64) T tile[MR * NR];
  kernel(kc, a_panel, b_panel, tile, NR, false);
  for (int64_t r = 0; r < rows; ++r) {
    T* c_row = c.data + row_offsets[r];
    for (int64_t t = 0; t < cols; ++t) {
      T& out = c_row[col_offsets[t]];
      out = accumulate ? T(out + tile[r * NR + t]) : tile[r * NR + t];
    }
  }
}

// The serial blocked GEMM on the rectangle C[i_begin:i_end, j_begin:j_end],
// with this thread's own packing buffers.
template <typename T>
void gemm_rectangle(int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end, int64_t k,
                    const GemmMatrix<const T>& a, const GemmMatrix<const T>& b, const GemmMatrix<T>& c,
                    bool accumulate) {
  thread_local std::vector<unsigned char> a_storage, b_storage;
  T* packed_a = scratch<T>(a_storage, MC * KC);
  T* packed_b = scratch<T>(b_storage, KC * NC);
  const MicroKernel<T> kernel = micro_kernel<T>();
  for (int64_t jc = j_begin; jc < j_end; jc += NC) {
    const int64_t nc = std::min(NC, j_end - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      const bool add_to_c = accumulate || pc > 0;  // the first K block overwrites C
      pack_b(b, pc, kc, jc, nc, packed_b);
      for (int64_t ic = i_begin; ic < i_end; ic += MC) {
        const int64_t mc = std::min(MC, i_end - ic);
        pack_a(a, ic, mc, pc, kc, packed_a);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const T* b_panel = packed_b + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            compute_tile(kernel, kc, packed_a + ir * kc, b_panel, c, ic + ir, std::min(MR, mc - ir), jc + jr,
                         std::min(NR, nc - jr), add_to_c);
          }
        }
      }
    }
  }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// How the threads split C: a grid of row_parts x col_parts rectangles, whole
// micro-tiles each. Chosen to minimise the slowest thread's estimated time:
// its multiply-adds (about 16 per cycle with AVX2) plus its packing (about
// one element per cycle: its rows of A once per NC block of its columns, its
// columns of B once).
struct Partition {
  int64_t row_parts = 1, col_parts = 1;
};

Partition choose_partition(int64_t m, int64_t n, int64_t k) {
  const int64_t row_tiles = ceil_div(m, MR), col_tiles = ceil_div(n, NR);
  const int64_t work = m * n * std::max<int64_t>(k, 1);
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(num_threads(), work / kMinWorkPerThread));
  Partition best;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int64_t row_parts = 1; row_parts <= std::min(parts, row_tiles); ++row_parts) {
    for (int64_t col_parts = 1; row_parts * col_parts <= parts && col_parts <= col_tiles; ++col_parts) {
      const double rows = double(ceil_div(row_tiles, row_parts) * MR);
      const double cols = double(ceil_div(col_tiles, col_parts) * NR);
      const double cost = rows * cols * double(k) / 16.0 + double(k) * (rows * ceil_div(int64_t(cols), NC) + cols);
      if (cost < best_cost) {
        best_cost = cost;
        best = {row_parts, col_parts};
      }
    }
  }
  return best;
}

// [begin, end) of part `part` of `parts` over `tiles` tiles of `tile` each,
// clipped to `size`: the first tiles % parts parts get one tile more.
void part_range(int64_t part, int64_t parts, int64_t tiles, int64_t tile, int64_t size, int64_t* begin,
                int64_t* end) {
  const int64_t base = tiles / parts, extra = tiles % parts;
  const int64_t first = part * base + std::min(part, extra);
  *begin = std::min(size, first * tile);
  *end = std::min(size, (first + base + (part < extra ? 1 : 0)) * tile);
}

}  // namespace

template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, GemmMatrix<const T> a, GemmMatrix<const T> b, GemmMatrix<T> c,
          bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // an empty sum
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) c.data[c.rows[i] + c.cols[j]] = T(0);
    return;
  }
  // A C with unit-stride columns but not rows (the output of a batch folded
  // into n when each batch has one column) is a row-major C^T: solve
  // C^T = B^T @ A^T so that the kernel can store whole tiles. Every product
  // a*b becomes b*a, summed in the same order: the result is the same bits.
  if (m > 1 && n > 1 && c.rows[1] - c.rows[0] == 1 && c.cols[1] - c.cols[0] != 1) {
    gemm<T>(n, m, k, {b.data, b.cols, b.rows}, {a.data, a.cols, a.rows}, {c.data, c.cols, c.rows}, accumulate);
    return;
  }
  const Partition partition = choose_partition(m, n, k);
  const int64_t row_tiles = ceil_div(m, MR), col_tiles = ceil_div(n, NR);
  parallel_for(0, partition.row_parts * partition.col_parts, 1, [&](int64_t first, int64_t last) {
    for (int64_t part = first; part < last; ++part) {
      int64_t i_begin = 0, i_end = 0, j_begin = 0, j_end = 0;
      part_range(part / partition.col_parts, partition.row_parts, row_tiles, MR, m, &i_begin, &i_end);
      part_range(part % partition.col_parts, partition.col_parts, col_tiles, NR, n, &j_begin, &j_end);
      gemm_rectangle(i_begin, i_end, j_begin, j_end, k, a, b, c, accumulate);
    }
  });
}

#define DL_INSTANTIATE_GEMM(T)                                                                              \
  template void gemm<T>(int64_t, int64_t, int64_t, GemmMatrix<const T>, GemmMatrix<const T>, GemmMatrix<T>, \
                        bool);
DL_INSTANTIATE_GEMM(float)
DL_INSTANTIATE_GEMM(double)
DL_INSTANTIATE_GEMM(int64_t)
DL_INSTANTIATE_GEMM(uint8_t)
#undef DL_INSTANTIATE_GEMM

std::vector<int64_t> strided_offsets(int64_t count, int64_t stride) {
  std::vector<int64_t> offsets(static_cast<size_t>(std::max<int64_t>(count, 0)));
  for (int64_t i = 0; i < count; ++i) offsets[i] = i * stride;
  return offsets;
}

std::vector<int64_t> folded_offsets(int64_t outer_count, int64_t outer_stride, int64_t inner_count,
                                    int64_t inner_stride) {
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(std::max<int64_t>(outer_count * inner_count, 0)));
  for (int64_t outer = 0; outer < outer_count; ++outer)
    for (int64_t inner = 0; inner < inner_count; ++inner) offsets.push_back(outer * outer_stride + inner * inner_stride);
  return offsets;
}

GemmKernel gemm_kernel() { return selected_kernel(); }

void set_gemm_kernel(GemmKernel kernel) {
  check(kernel == GemmKernel::Portable || cpu_has_avx2_fma(), "set_gemm_kernel: this CPU has no AVX2 / FMA");
  selected_kernel() = kernel;
}

const char* gemm_kernel_name(GemmKernel kernel) {
  return kernel == GemmKernel::Avx2Fma ? "avx2-fma 6x16" : "portable 6x16";
}

}  // namespace dl
