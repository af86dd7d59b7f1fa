// matmul.cpp — batched matrix multiply on the CPU, out[b] = a[b] @ w[b], and
// its batch-summed form out = sum_b a[b] @ w[b], both on the packed GEMM
// (gemm.h) with each operand's own strides: nothing is copied beforehand.
//
// The batch is folded into the GEMM wherever the layouts allow, so that one
// large product replaces many small ones (better blocking, one parallel
// region):
//  - a shared left operand (a's batch stride 0, as conv2d's weight):
//      out[b, i, j] = sum_p a[i, p] w[b, p, j]   is  [m, k] @ [k, batch * n]
//  - a shared right operand (w's batch stride 0, as x @ W^T):
//      out[b, i, j] = sum_p a[b, i, p] w[p, j]   is  [batch * m, k] @ [k, n]
//  - the batch-summed form (a convolution's weight gradient):
//      out[i, j] = sum_{b, p} a[b, i, p] w[b, p, j]   is  [m, batch * k] @ [batch * k, n]
// Other batches are independent GEMMs, run in parallel when there are
// enough of them.
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/thread_pool.h"

namespace dl {

namespace {

template <typename T>
void matmul_typed(const Tensor& a, const Tensor& w, const Tensor& out) {
  const int64_t batch = out.shape()[0], m = out.shape()[1], n = out.shape()[2], k = a.shape()[2];
  const Shape& sa = a.strides();
  const Shape& sw = w.strides();
  const T* pa = a.data<T>();
  const T* pw = w.data<T>();
  T* po = out.data<T>();  // contiguous [batch, m, n]
  const std::vector<int64_t> a_cols = strided_offsets(k, sa[2]), w_rows = strided_offsets(k, sw[1]);
  if (batch == 1 || sa[0] == 0) {
    const std::vector<int64_t> a_rows = strided_offsets(m, sa[1]), out_rows = strided_offsets(m, n);
    const std::vector<int64_t> w_cols = folded_offsets(batch, sw[0], n, sw[2]);
    const std::vector<int64_t> out_cols = folded_offsets(batch, m * n, n, 1);
    gemm<T>(m, batch * n, k, {pa, a_rows.data(), a_cols.data()}, {pw, w_rows.data(), w_cols.data()},
            {po, out_rows.data(), out_cols.data()}, false);
    return;
  }
  const std::vector<int64_t> w_cols = strided_offsets(n, sw[2]), out_cols = strided_offsets(n, 1);
  if (sw[0] == 0) {
    const std::vector<int64_t> a_rows = folded_offsets(batch, sa[0], m, sa[1]);
    const std::vector<int64_t> out_rows = folded_offsets(batch, m * n, m, n);
    gemm<T>(batch * m, n, k, {pa, a_rows.data(), a_cols.data()}, {pw, w_rows.data(), w_cols.data()},
            {po, out_rows.data(), out_cols.data()}, false);
    return;
  }
  const std::vector<int64_t> a_rows = strided_offsets(m, sa[1]), out_rows = strided_offsets(m, n);
  auto one_batch = [&](int64_t b) {
    gemm<T>(m, n, k, {pa + b * sa[0], a_rows.data(), a_cols.data()}, {pw + b * sw[0], w_rows.data(), w_cols.data()},
            {po + b * m * n, out_rows.data(), out_cols.data()}, false);
  };
  if (batch >= num_threads()) {
    parallel_for(0, batch, 1, [&](int64_t first, int64_t last) {
      for (int64_t b = first; b < last; ++b) one_batch(b);
    });
  } else {
    for (int64_t b = 0; b < batch; ++b) one_batch(b);  // each product threads itself
  }
}

template <typename T>
void matmul_sum_batch_typed(const Tensor& a, const Tensor& w, const Tensor& out) {
  const int64_t batch = a.shape()[0], m = a.shape()[1], k = a.shape()[2], n = w.shape()[2];
  const Shape& sa = a.strides();
  const Shape& sw = w.strides();
  const std::vector<int64_t> a_rows = strided_offsets(m, sa[1]), a_cols = folded_offsets(batch, sa[0], k, sa[2]);
  const std::vector<int64_t> w_rows = folded_offsets(batch, sw[0], k, sw[1]), w_cols = strided_offsets(n, sw[2]);
  const std::vector<int64_t> out_rows = strided_offsets(m, n), out_cols = strided_offsets(n, 1);
  gemm<T>(m, n, batch * k, {a.data<T>(), a_rows.data(), a_cols.data()}, {w.data<T>(), w_rows.data(), w_cols.data()},
          {out.data<T>(), out_rows.data(), out_cols.data()}, false);
}

}  // namespace

void CpuBackend::matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) fail("matmul: bool tensors are not supported");
    else matmul_typed<T>(a, b, out);
  });
}

void CpuBackend::matmul_sum_batch(const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) fail("matmul_sum_batch: bool tensors are not supported");
    else matmul_sum_batch_typed<T>(a, b, out);
  });
}

}  // namespace dl
