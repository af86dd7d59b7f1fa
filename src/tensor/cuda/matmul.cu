// matmul.cu — batched matrix multiply on CUDA: out[b] = a[b] @ w[b] for
// a [B, M, K], w [B, K, N] (any strides, including stride-0 broadcasts of
// the batch) and a contiguous out [B, M, N]. Our own kernel, no cuBLAS.
//
// Classic shared-memory tiling with register blocking. A block of 16 x 16
// threads computes a 64 x 64 tile of out; the K dimension is walked in steps
// of 16:
//   1. the block loads a[tile rows, k..k+16) and w[k..k+16, tile cols) into
//      shared memory (zeros past the matrix edges, so any M, N, K works);
//   2. each thread multiplies them into its 4 x 4 accumulators, reading a
//      column of the a tile and a row of the w tile into registers once per
//      k and using each value 4 times (16 FMAs per 8 shared loads).
// Thread (ty, tx) owns rows ty + 16 i and columns tx + 16 j (i, j < 4):
// neighbouring threads read neighbouring shared words, so the reads are free
// of bank conflicts, and neighbouring threads write neighbouring columns of
// out, so the stores coalesce. Loads go through each operand's strides and
// are coalesced when its fastest dim is contiguous. blockIdx.z walks the
// batch (grid-stride past 65535 batches).
#include <type_traits>

#include "tensor/cuda/common.cuh"

namespace dl {

namespace {

constexpr int kTile = 64;                   // rows and columns of out per block
constexpr int kDepth = 16;                  // K per shared-memory stage
constexpr int kSide = 16;                   // threads per block side
constexpr int kPerThread = kTile / kSide;   // outputs per thread per side

struct Strides3 {
  int64_t batch, row, col;
};

template <typename T>
__global__ void matmul_kernel(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, Strides3 sa, const T* w,
                              Strides3 sw, T* out) {
  // a tile stored k-major ([k][row]) so that step 2 reads a column as a row.
  __shared__ T a_tile[kDepth][kTile];
  __shared__ T w_tile[kDepth][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kSide + tx;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kTile, col0 = static_cast<int64_t>(blockIdx.x) * kTile;

  for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
    const T* pa = a + b * sa.batch;
    const T* pw = w + b * sw.batch;
    T acc[kPerThread][kPerThread];
    for (int i = 0; i < kPerThread; ++i)
      for (int j = 0; j < kPerThread; ++j) acc[i][j] = T(0);

    for (int64_t k0 = 0; k0 < k; k0 += kDepth) {
      // Each of the 256 threads loads 4 elements of each 64 x 16 tile:
      // element e = tid + 256 r, with the k index fastest for a and the
      // column index fastest for w (the usual contiguous dims).
      for (int e = tid; e < kTile * kDepth; e += kSide * kSide) {
        const int kk = e % kDepth, row = e / kDepth;
        const int64_t gr = row0 + row, gk = k0 + kk;
        a_tile[kk][row] = (gr < m && gk < k) ? pa[gr * sa.row + gk * sa.col] : T(0);
        const int col = e % kTile, kw = e / kTile;
        const int64_t gc = col0 + col, gkw = k0 + kw;
        w_tile[kw][col] = (gc < n && gkw < k) ? pw[gkw * sw.row + gc * sw.col] : T(0);
      }
      __syncthreads();
      for (int kk = 0; kk < kDepth; ++kk) {
        T a_frag[kPerThread], w_frag[kPerThread];
        for (int i = 0; i < kPerThread; ++i) a_frag[i] = a_tile[kk][ty + kSide * i];
        for (int j = 0; j < kPerThread; ++j) w_frag[j] = w_tile[kk][tx + kSide * j];
        for (int i = 0; i < kPerThread; ++i)
          for (int j = 0; j < kPerThread; ++j) acc[i][j] += a_frag[i] * w_frag[j];
      }
      __syncthreads();  // the tiles are overwritten by the next stage
    }

    T* po = out + b * m * n;
    for (int i = 0; i < kPerThread; ++i) {
      const int64_t r = row0 + ty + kSide * i;
      if (r >= m) continue;
      for (int j = 0; j < kPerThread; ++j) {
        const int64_t c = col0 + tx + kSide * j;
        if (c < n) po[r * n + c] = acc[i][j];
      }
    }
  }
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
  const int64_t row_tiles = (m + kTile - 1) / kTile, col_tiles = (n + kTile - 1) / kTile;
  check(row_tiles <= 65535 && col_tiles <= 2147483647, "matmul: output [", batch, ", ", m, ", ", n,
        "] is too large for one launch");
  const dim3 threads(kSide, kSide);
  const dim3 blocks(static_cast<unsigned>(col_tiles), static_cast<unsigned>(row_tiles),
                    static_cast<unsigned>(batch < 65535 ? batch : 65535));
  const Strides3 sa = {a.strides()[0], a.strides()[1], a.strides()[2]};
  const Strides3 sw = {b.strides()[0], b.strides()[1], b.strides()[2]};
  visit_cuda_dtype(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      matmul_kernel<T><<<blocks, threads>>>(batch, m, n, k, device_data<T>(a), sa, device_data<T>(b), sw,
                                            device_data<T>(out));
      DL_CUDA_CHECK(cudaGetLastError());
    }
  });
}

}  // namespace dl
