// matmul.cu — matrix products on CUDA, our own kernel (no cuBLAS):
//   matmul:            out[b] = a[b] @ w[b]      a [B, M, K], w [B, K, N], out [B, M, N]
//   matmul_sum_batch:  out = sum_b a[b] @ w[b]   (a convolution's weight gradient)
// Operands may have any strides, including stride-0 broadcasts of the batch.
//
// One kernel computes one product out[R, C] = A[R, D] @ W[D, C] whose three
// index ranges are each folded from up to two tensor dims (tensor/cuda/fold.h).
// That turns the convolutions' many small per-image products into one large
// one, which is what fills a GPU:
//   w shared by the batch (x @ W^T of a batch of images):  rows = (b, m), R = B*M
//   a shared by the batch (W @ im2col(x)_n, every n):      cols = (b, n), C = B*N
//   matmul_sum_batch:                                      depth = (b, k), D = B*K
// Only when both operands are batched does blockIdx.z walk the batch.
//
// Split-K. A product with few output tiles and a long depth (conv weight
// gradients: 128 x 1024 outputs, depth 64 * 49) would run on a handful of
// SMs; then the depth is cut into S slices, blockIdx.z computes slice z into
// a workspace [S, R, C], and a second kernel adds the slices in order 0..S-1
// (deterministic: no atomics).
//
// The tile kernel. A block of 16 x 16 threads computes a kTileM x kTileN tile
// of out (16 kRows x 16 kCols: 64 x 64, 128 x 64 or 128 x 128); the depth is
// walked in stages of 16:
//   1. the block loads A[tile rows, k..k+16) and W[k..k+16, tile cols) into
//      shared memory (zeros past the edges, so any R, C, D works);
//   2. each thread multiplies them into its kRows x kCols accumulators,
//      reading a column of the A tile and a row of the W tile into registers
//      once per k: kRows kCols FMAs per kRows + kCols shared loads (64 per 16
//      for the 128 x 128 tile, which also halves the global loads per FMA).
// Double buffering: while the block computes on stage s, each thread has
// its elements of stage s + 1 in flight from global memory into registers
// and stores them into the other shared copy afterwards; one __syncthreads
// per stage separates the reads of a copy from its next overwrite.
// Thread (ty, tx) owns rows ty + 16 i and columns tx + 16 j: the A-tile reads
// are warp broadcasts, the W-tile reads hit 16 consecutive words, and the
// stores to out coalesce. The global loads coalesce when neighbouring
// threads read neighbouring addresses, so each operand is loaded along the
// index it is contiguous in (A along depth or along rows, W along columns or
// along depth); the shared tiles are padded by 4 words so that either order
// of stores spreads over the banks.
#include <algorithm>
#include <type_traits>

#include "tensor/cuda/common.cuh"
#include "tensor/cuda/fold.h"

namespace dl {

namespace {

constexpr int kDepth = 16;   // depth per shared-memory stage
constexpr int kSide = 16;    // threads per block side
constexpr int kThreadsPerBlock = kSide * kSide;
constexpr int kPad = 4;       // words of padding per shared-tile row

// One product out[R, C] (+)= A[R, D] @ W[D, C], with every index folded.
struct Gemm {
  uint32_t rows = 0, cols = 0, depth = 0;
  Fold a_row, a_depth, w_depth, w_col, out_row, out_col;
  // blockIdx.z = z: depth slice [z * z_depth, z * z_depth + slice_depth)
  // (z_depth = 0 for a batch), operands offset by z times these strides.
  uint32_t z_depth = 0, slice_depth = 0;
  int64_t a_z = 0, w_z = 0, out_z = 0;
  bool a_along_depth = true;  // load A with depth fastest (else rows fastest)
  bool w_along_cols = true;   // load W with columns fastest (else depth fastest)
};

// At least 2 blocks per SM: caps the registers at 128 per thread (enough
// for the 128 x 128 tile's 64 accumulators once its loops are unrolled).
template <typename T, int kRows, int kCols>
__global__ void __launch_bounds__(kThreadsPerBlock, 2) gemm_kernel(Gemm g, int64_t z_count, const T* a, const T* w,
                                                                   T* out) {
  constexpr int kTileM = kSide * kRows, kTileN = kSide * kCols;
  // Per thread and stage: kALoads elements of the A tile, kWLoads of the W tile.
  constexpr int kALoads = kTileM * kDepth / kThreadsPerBlock, kWLoads = kTileN * kDepth / kThreadsPerBlock;
  __shared__ T a_tile[2][kDepth][kTileM + kPad];  // k-major: step 2 reads a column as a row
  __shared__ T w_tile[2][kDepth][kTileN + kPad];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kSide + tx;
  const uint32_t row0 = blockIdx.y * kTileM, col0 = blockIdx.x * kTileN;

  for (int64_t z = blockIdx.z; z < z_count; z += gridDim.z) {
    const T* pa = a + z * g.a_z;
    const T* pw = w + z * g.w_z;
    const uint32_t k_begin = static_cast<uint32_t>(z) * g.z_depth;
    const uint32_t k_end = min(g.depth, k_begin + g.slice_depth);
    // Element e = tid + 256 r of a stage sits at tile position (row or col, kk).
    T a_next[kALoads], w_next[kWLoads];
    auto a_pos = [&](int e, int& row, int& kk) {
      row = g.a_along_depth ? e / kDepth : e % kTileM;
      kk = g.a_along_depth ? e % kDepth : e / kTileM;
    };
    auto w_pos = [&](int e, int& col, int& kk) {
      col = g.w_along_cols ? e % kTileN : e / kDepth;
      kk = g.w_along_cols ? e / kTileN : e % kDepth;
    };
    auto load = [&](uint32_t k0) {
      #pragma unroll
      for (int r = 0; r < kALoads; ++r) {
        int row, kk;
        a_pos(tid + kThreadsPerBlock * r, row, kk);
        const uint32_t gr = row0 + row, gk = k0 + kk;
        a_next[r] = (gr < g.rows && gk < k_end) ? pa[fold_offset(g.a_row, gr) + fold_offset(g.a_depth, gk)] : T(0);
      }
      #pragma unroll
      for (int r = 0; r < kWLoads; ++r) {
        int col, kk;
        w_pos(tid + kThreadsPerBlock * r, col, kk);
        const uint32_t gc = col0 + col, gk = k0 + kk;
        w_next[r] = (gc < g.cols && gk < k_end) ? pw[fold_offset(g.w_depth, gk) + fold_offset(g.w_col, gc)] : T(0);
      }
    };
    auto store = [&](int copy) {
      #pragma unroll
      for (int r = 0; r < kALoads; ++r) {
        int row, kk;
        a_pos(tid + kThreadsPerBlock * r, row, kk);
        a_tile[copy][kk][row] = a_next[r];
      }
      #pragma unroll
      for (int r = 0; r < kWLoads; ++r) {
        int col, kk;
        w_pos(tid + kThreadsPerBlock * r, col, kk);
        w_tile[copy][kk][col] = w_next[r];
      }
    };

    T acc[kRows][kCols];
    #pragma unroll
    for (int i = 0; i < kRows; ++i)
      #pragma unroll
      for (int j = 0; j < kCols; ++j) acc[i][j] = T(0);

    load(k_begin);
    store(0);
    __syncthreads();
    int copy = 0;
    for (uint32_t k0 = k_begin; k0 < k_end; k0 += kDepth) {
      const bool more = k0 + kDepth < k_end;
      if (more) load(k0 + kDepth);  // in flight while this stage computes
      #pragma unroll
      for (int kk = 0; kk < kDepth; ++kk) {
        T a_frag[kRows], w_frag[kCols];
        #pragma unroll
        for (int i = 0; i < kRows; ++i) a_frag[i] = a_tile[copy][kk][ty + kSide * i];
        #pragma unroll
        for (int j = 0; j < kCols; ++j) w_frag[j] = w_tile[copy][kk][tx + kSide * j];
        #pragma unroll
        for (int i = 0; i < kRows; ++i)
          #pragma unroll
          for (int j = 0; j < kCols; ++j) acc[i][j] += a_frag[i] * w_frag[j];
      }
      if (more) store(copy ^ 1);
      copy ^= 1;
      __syncthreads();
    }

    T* po = out + z * g.out_z;
    #pragma unroll
    for (int i = 0; i < kRows; ++i) {
      const uint32_t r = row0 + ty + kSide * i;
      if (r >= g.rows) continue;
      const int64_t row_offset = fold_offset(g.out_row, r);
      #pragma unroll
      for (int j = 0; j < kCols; ++j) {
        const uint32_t c = col0 + tx + kSide * j;
        if (c < g.cols) po[row_offset + fold_offset(g.out_col, c)] = acc[i][j];
      }
    }
  }
}

// out[fold(r), fold(c)] = sum over s = 0..S-1, in order, of slices[s, r, c].
template <typename T>
__global__ void sum_slices_kernel(int64_t n, int64_t slices, uint32_t cols, Fold out_row, Fold out_col,
                                  const T* slice, T* out) {
  for (int64_t e = grid_start(); e < n; e += grid_step()) {
    T sum = slice[e];
    for (int64_t s = 1; s < slices; ++s) sum += slice[s * n + e];
    const uint32_t r = static_cast<uint32_t>(e / cols), c = static_cast<uint32_t>(e % cols);
    out[fold_offset(out_row, r) + fold_offset(out_col, c)] = sum;
  }
}

// The number of streaming multiprocessors of the current device.
int multiprocessors() {
  static const int count = [] {
    int device = 0, value = 0;
    DL_CUDA_CHECK(cudaGetDevice(&device));
    DL_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, device));
    return value;
  }();
  return count;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The tile shapes, largest first: rows and columns per thread.
struct Tile {
  int rows, cols;
};
constexpr Tile kTiles[] = {{8, 8}, {8, 4}, {4, 4}};

int64_t blocks_for(const Gemm& g, Tile tile, int64_t z_count) {
  return ceil_div(g.rows, kSide * tile.rows) * ceil_div(g.cols, kSide * tile.cols) * z_count;
}

template <typename T, int kRows, int kCols>
void launch_tile(const Gemm& g, int64_t z_count, const T* a, const T* w, T* out) {
  const int64_t col_tiles = ceil_div(g.cols, kSide * kCols), row_tiles = ceil_div(g.rows, kSide * kRows);
  check(row_tiles <= 65535, "matmul: ", g.rows, " output rows are too many for one launch");
  const dim3 threads(kSide, kSide);
  const dim3 blocks(static_cast<unsigned>(col_tiles), static_cast<unsigned>(row_tiles),
                    static_cast<unsigned>(z_count < 65535 ? z_count : 65535));
  gemm_kernel<T, kRows, kCols><<<blocks, threads, 0, cuda_stream()>>>(g, z_count, a, w, out);
  DL_CUDA_CHECK(cudaGetLastError());
}

// Launches g as a grid of (col tiles, row tiles, z_count) with the largest
// tile that still makes a full wave of blocks (one per SM): a larger tile
// does more multiply-adds per load, but idle SMs cost more.
template <typename T>
void launch_gemm(const Gemm& g, int64_t z_count, const T* a, const T* w, T* out) {
  // Two copies of the 128-row tiles take 34 KiB of shared memory in float
  // (of the 48 KiB a block may have statically); int64 keeps the small tile.
  if constexpr (std::is_same_v<T, float>) {
    if (blocks_for(g, kTiles[0], z_count) >= multiprocessors()) return launch_tile<T, 8, 8>(g, z_count, a, w, out);
    if (blocks_for(g, kTiles[1], z_count) >= multiprocessors()) return launch_tile<T, 8, 4>(g, z_count, a, w, out);
  }
  launch_tile<T, 4, 4>(g, z_count, a, w, out);
}

// Runs one product (no z-batch). When its 128 x 128 tiles cannot fill the
// GPU twice and the depth is long, the depth is split (see the header) into
// at most 256 slices of at least 256.
template <typename T>
void run_gemm(Gemm g, const T* a, const T* w, T* out, Device device) {
  const int64_t tiles = blocks_for(g, kTiles[0], 1);
  const int64_t wanted = ceil_div(2 * multiprocessors(), tiles);
  const int64_t slices = std::min<int64_t>({wanted, g.depth / 256, 256});
  if (slices <= 1) {
    g.slice_depth = g.depth;
    launch_gemm(g, 1, a, w, out);
    return;
  }
  const int64_t slice_depth = ceil_div(ceil_div(g.depth, slices), kDepth) * kDepth;
  const int64_t count = ceil_div(g.depth, slice_depth);
  const int64_t n = int64_t(g.rows) * g.cols;
  const Tensor workspace = Tensor::empty({count, n}, dtype_of<T>(), device);
  Gemm split = g;
  split.out_row = plain_fold(g.cols);
  split.out_col = plain_fold(1);
  split.z_depth = split.slice_depth = static_cast<uint32_t>(slice_depth);
  split.out_z = n;
  launch_gemm(split, count, a, w, device_data<T>(workspace));
  sum_slices_kernel<T><<<grid_for(n), kThreads, 0, cuda_stream()>>>(n, count, g.cols, g.out_row, g.out_col,
                                                                    device_data<T>(workspace), out);
  DL_CUDA_CHECK(cudaGetLastError());
}

void check_sizes(int64_t rows, int64_t cols, int64_t depth) {
  constexpr int64_t kLimit = int64_t(1) << 31;
  check(rows < kLimit && cols < kLimit && depth < kLimit, "matmul: product [", rows, " x ", depth, "] @ [", depth,
        " x ", cols, "] has a dimension of 2^31 or more");
}

// Whether neighbouring indices of f sit at neighbouring addresses.
bool steps_by_one(const Fold& f) { return f.inner == 1 ? f.outer_stride == 1 : f.inner_stride == 1; }

// Which way each operand is loaded (see the header): along A's depth unless
// only its rows are contiguous, along W's columns unless only its depth is.
void choose_load_order(Gemm& g) {
  g.a_along_depth = steps_by_one(g.a_depth) || !steps_by_one(g.a_row);
  g.w_along_cols = steps_by_one(g.w_col) || !steps_by_one(g.w_depth);
}

void zero(const Tensor& out) {
  const size_t element = dtype_size(out.dtype());
  char* first = static_cast<char*>(out.storage()->data()) + out.offset() * element;
  DL_CUDA_CHECK(cudaMemsetAsync(first, 0, out.numel() * element, cuda_stream()));
}

}  // namespace

void CudaBackend::matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  check(a.dtype() != DType::Bool, "matmul: bool tensors are not supported");
  const int64_t batch = out.shape()[0], m = out.shape()[1], n = out.shape()[2], k = a.shape()[2];
  if (out.numel() == 0) return;
  activate();
  if (k == 0) return zero(out);  // an empty sum
  const Shape& sa = a.strides();
  const Shape& sw = b.strides();
  Gemm g;
  g.depth = static_cast<uint32_t>(k);
  g.a_depth = plain_fold(sa[2]);
  g.w_depth = plain_fold(sw[1]);
  int64_t z_count = 1;
  if (sw[0] == 0 || batch == 1) {  // w shared: rows (b, m), out rows contiguous
    check_sizes(batch * m, n, k);
    g.rows = static_cast<uint32_t>(batch * m);
    g.cols = static_cast<uint32_t>(n);
    g.a_row = make_fold(m, sa[1], sa[0]);
    g.w_col = plain_fold(sw[2]);
    g.out_row = plain_fold(n);
    g.out_col = plain_fold(1);
  } else if (sa[0] == 0) {  // a shared: columns (b, n)
    check_sizes(m, batch * n, k);
    g.rows = static_cast<uint32_t>(m);
    g.cols = static_cast<uint32_t>(batch * n);
    g.a_row = plain_fold(sa[1]);
    g.w_col = make_fold(n, sw[2], sw[0]);
    g.out_row = plain_fold(n);
    g.out_col = make_fold(n, 1, m * n);
  } else {  // both batched: blockIdx.z walks the batch
    check_sizes(m, n, k);
    g.rows = static_cast<uint32_t>(m);
    g.cols = static_cast<uint32_t>(n);
    g.a_row = plain_fold(sa[1]);
    g.w_col = plain_fold(sw[2]);
    g.out_row = plain_fold(n);
    g.out_col = plain_fold(1);
    g.a_z = sa[0];
    g.w_z = sw[0];
    g.out_z = m * n;
    z_count = batch;
  }
  choose_load_order(g);
  visit_cuda_dtype(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      if (z_count == 1) {
        run_gemm<T>(g, device_data<T>(a), device_data<T>(b), device_data<T>(out), out.device());
      } else {
        g.slice_depth = g.depth;
        launch_gemm<T>(g, z_count, device_data<T>(a), device_data<T>(b), device_data<T>(out));
      }
    }
  });
}

// One product with depth (b, k): out = [a_0 .. a_{B-1}] @ [w_0; ..; w_{B-1}].
void CudaBackend::matmul_sum_batch(const Tensor& a, const Tensor& b, const Tensor& out) {
  check(a.dtype() != DType::Bool, "matmul_sum_batch: bool tensors are not supported");
  const int64_t batch = a.shape()[0], m = a.shape()[1], k = a.shape()[2], n = b.shape()[2];
  if (out.numel() == 0) return;
  activate();
  if (k == 0 || batch == 0) return zero(out);
  check_sizes(m, n, batch * k);
  const Shape& sa = a.strides();
  const Shape& sw = b.strides();
  Gemm g;
  g.rows = static_cast<uint32_t>(m);
  g.cols = static_cast<uint32_t>(n);
  g.depth = static_cast<uint32_t>(batch * k);
  g.a_row = plain_fold(sa[1]);
  g.a_depth = make_fold(k, sa[2], sa[0]);
  g.w_depth = make_fold(k, sw[1], sw[0]);
  g.w_col = plain_fold(sw[2]);
  g.out_row = plain_fold(out.strides()[0]);
  g.out_col = plain_fold(out.strides()[1]);
  choose_load_order(g);
  visit_cuda_dtype(a.dtype(), "matmul_sum_batch", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      run_gemm<T>(g, device_data<T>(a), device_data<T>(b), device_data<T>(out), out.device());
    }
  });
}

}  // namespace dl
