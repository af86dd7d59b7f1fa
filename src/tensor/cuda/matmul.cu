// matmul.cu — batched matrix multiply on CUDA: out[b] = a[b] @ w[b] for
// a [B, M, K], w [B, K, N] (any strides, including stride-0 broadcasts of
// the batch) and a contiguous out [B, M, N]. Our own kernel, no cuBLAS.
//
// Shared-memory tiling with register blocking and double buffering. A block
// of 16 x 16 threads computes a kTileM x 64 tile of out (kTileM = 16 x
// kRows, 64 or 128 rows); the K dimension is walked in stages of 16:
//   1. the block loads a[tile rows, k..k+16) and w[k..k+16, tile cols) into
//      shared memory (zeros past the matrix edges, so any M, N, K works);
//   2. each thread multiplies them into its kRows x 4 accumulators, reading
//      a column of the a tile and a row of the w tile into registers once per
//      k: 4 kRows FMAs per kRows + 4 shared loads (32 per 12 at kRows = 8).
// Double buffering: two copies of the tiles in shared memory. While the
// block computes on stage s, each thread already has its elements of stage
// s + 1 in flight from global memory into registers, and stores them into
// the other copy afterwards; one __syncthreads per stage then separates the
// reads of a copy from its next overwrite (the copy written during stage s
// was last read during stage s - 1, before the previous barrier).
// Thread (ty, tx) owns rows ty + 16 i (i < kRows) and columns tx + 16 j
// (j < 4): in a warp the a-tile reads are broadcasts and the w-tile reads hit
// 16 consecutive words, so they are free of bank conflicts; neighbouring
// threads write neighbouring columns of out, so the stores coalesce. Loads
// go through each operand's strides and are coalesced when its fastest dim
// is contiguous. blockIdx.z walks the batch (grid-stride past 65535).
//
// The 128-row tile does twice the work per shared load, but makes half as
// many blocks: it is used only when it still fills the GPU twice over
// (kWaves); the InfoGAN's small-batch products keep the 64-row tile.
#include <type_traits>

#include "tensor/cuda/common.cuh"

namespace dl {

namespace {

constexpr int kTileN = 64;   // columns of out per block
constexpr int kDepth = 16;   // K per shared-memory stage
constexpr int kSide = 16;    // threads per block side
constexpr int kThreadsPerBlock = kSide * kSide;
constexpr int kCols = kTileN / kSide;  // outputs per thread along a row
constexpr int kWaves = 2;    // the 128-row tile needs this many blocks per SM
constexpr int kTallRows = 8;  // rows per thread of the 128-row tile

struct Strides3 {
  int64_t batch, row, col;
};

// At least 2 blocks per SM: caps the registers at 128 per thread (the tall
// tile spills a few bytes; uncapped it took 174 and ran one block per SM).
template <typename T, int kRows>
__global__ void __launch_bounds__(kThreadsPerBlock, 2)
    matmul_kernel(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, Strides3 sa, const T* w, Strides3 sw,
                  T* out) {
  constexpr int kTileM = kSide * kRows;
  // Per thread and stage: kALoads elements of the a tile, kWLoads of the w tile.
  constexpr int kALoads = kTileM * kDepth / kThreadsPerBlock, kWLoads = kTileN * kDepth / kThreadsPerBlock;
  // The a tile is stored k-major ([k][row]) so that step 2 reads a column as
  // a row; 4 words of padding spread the stores of neighbouring k (which
  // would otherwise all land in one bank) over 8 banks.
  __shared__ T a_tile[2][kDepth][kTileM + 4];
  __shared__ T w_tile[2][kDepth][kTileN];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kSide + tx;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kTileM, col0 = static_cast<int64_t>(blockIdx.x) * kTileN;

  for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
    const T* pa = a + b * sa.batch;
    const T* pw = w + b * sw.batch;
    // Element e = tid + 256 r of a stage: the k index fastest for a and the
    // column index fastest for w (the usual contiguous dims).
    T a_next[kALoads], w_next[kWLoads];
    auto load = [&](int64_t k0) {
      for (int r = 0; r < kALoads; ++r) {
        const int e = tid + kThreadsPerBlock * r;
        const int64_t gr = row0 + e / kDepth, gk = k0 + e % kDepth;
        a_next[r] = (gr < m && gk < k) ? pa[gr * sa.row + gk * sa.col] : T(0);
      }
      for (int r = 0; r < kWLoads; ++r) {
        const int e = tid + kThreadsPerBlock * r;
        const int64_t gc = col0 + e % kTileN, gk = k0 + e / kTileN;
        w_next[r] = (gc < n && gk < k) ? pw[gk * sw.row + gc * sw.col] : T(0);
      }
    };
    auto store = [&](int copy) {
      for (int r = 0; r < kALoads; ++r) {
        const int e = tid + kThreadsPerBlock * r;
        a_tile[copy][e % kDepth][e / kDepth] = a_next[r];
      }
      for (int r = 0; r < kWLoads; ++r) {
        const int e = tid + kThreadsPerBlock * r;
        w_tile[copy][e / kTileN][e % kTileN] = w_next[r];
      }
    };

    T acc[kRows][kCols];
    for (int i = 0; i < kRows; ++i)
      for (int j = 0; j < kCols; ++j) acc[i][j] = T(0);

    load(0);
    store(0);
    __syncthreads();
    int copy = 0;
    for (int64_t k0 = 0; k0 < k; k0 += kDepth) {
      const bool more = k0 + kDepth < k;
      if (more) load(k0 + kDepth);  // in flight while this stage computes
      for (int kk = 0; kk < kDepth; ++kk) {
        T a_frag[kRows], w_frag[kCols];
        for (int i = 0; i < kRows; ++i) a_frag[i] = a_tile[copy][kk][ty + kSide * i];
        for (int j = 0; j < kCols; ++j) w_frag[j] = w_tile[copy][kk][tx + kSide * j];
        for (int i = 0; i < kRows; ++i)
          for (int j = 0; j < kCols; ++j) acc[i][j] += a_frag[i] * w_frag[j];
      }
      if (more) store(copy ^ 1);
      copy ^= 1;
      __syncthreads();
    }

    T* po = out + b * m * n;
    for (int i = 0; i < kRows; ++i) {
      const int64_t r = row0 + ty + kSide * i;
      if (r >= m) continue;
      for (int j = 0; j < kCols; ++j) {
        const int64_t c = col0 + tx + kSide * j;
        if (c < n) po[r * n + c] = acc[i][j];
      }
    }
  }
}

// Launches the kernel with kRows rows per thread (a 16 kRows x 64 tile).
template <typename T, int kRows>
void launch_matmul(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, Strides3 sa, const T* w, Strides3 sw,
                   T* out) {
  constexpr int64_t kTileM = kSide * kRows;
  const int64_t row_tiles = (m + kTileM - 1) / kTileM, col_tiles = (n + kTileN - 1) / kTileN;
  check(row_tiles <= 65535 && col_tiles <= 2147483647, "matmul: output [", batch, ", ", m, ", ", n,
        "] is too large for one launch");
  const dim3 threads(kSide, kSide);
  const dim3 blocks(static_cast<unsigned>(col_tiles), static_cast<unsigned>(row_tiles),
                    static_cast<unsigned>(batch < 65535 ? batch : 65535));
  matmul_kernel<T, kRows><<<blocks, threads>>>(batch, m, n, k, a, sa, w, sw, out);
  DL_CUDA_CHECK(cudaGetLastError());
}

// The number of streaming multiprocessors of the current device.
int multiprocessors() {
  int device = 0, count = 0;
  DL_CUDA_CHECK(cudaGetDevice(&device));
  DL_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count;
}

}  // namespace

void CudaBackend::matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  check(a.dtype() != DType::Bool, "matmul: bool tensors are not supported");
  const int64_t batch = out.shape()[0], m = out.shape()[1], n = out.shape()[2], k = a.shape()[2];
  if (out.numel() == 0) return;
  activate();
  if (k == 0) {  // an empty sum: out is all zeros
    const size_t element = dtype_size(out.dtype());
    char* first = static_cast<char*>(out.storage()->data()) + out.offset() * element;
    DL_CUDA_CHECK(cudaMemset(first, 0, out.numel() * element));
    return;
  }
  const Strides3 sa = {a.strides()[0], a.strides()[1], a.strides()[2]};
  const Strides3 sw = {b.strides()[0], b.strides()[1], b.strides()[2]};
  const int64_t tall_rows = kSide * kTallRows;
  const int64_t tall_blocks = (m + tall_rows - 1) / tall_rows * ((n + kTileN - 1) / kTileN) * batch;
  const bool tall = tall_blocks >= int64_t(kWaves) * multiprocessors();
  visit_cuda_dtype(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      // The tall tile's two copies take 25 KiB of shared memory in float; in
      // int64 they would pass the 48 KiB a block may have statically.
      if constexpr (std::is_same_v<T, float>) {
        if (tall) {
          launch_matmul<T, kTallRows>(batch, m, n, k, device_data<T>(a), sa, device_data<T>(b), sw,
                                      device_data<T>(out));
          return;
        }
      }
      launch_matmul<T, 4>(batch, m, n, k, device_data<T>(a), sa, device_data<T>(b), sw, device_data<T>(out));
    }
  });
}

}  // namespace dl
