// matmul.cpp — batched matrix multiply on the CPU: out[b] = a[b] @ w[b].
//
// The straightforward i-k-j loop order: for each row i of a and each k, add
// a[i,k] * w[k,:] to out[i,:]. The inner loop walks a row of w and of out,
// which is contiguous in the common case, so the compiler can vectorise it.
// (The fast, packed and threaded GEMM is the CPU speed issue's job.)
#include <cstring>

#include "tensor/cpu/cpu_backend.h"

namespace dl {

namespace {

template <typename T>
void matmul_typed(const Tensor& a, const Tensor& w, const Tensor& out) {
  const int64_t batch = out.shape()[0], m = out.shape()[1], n = out.shape()[2], k = a.shape()[2];
  const T* pa = a.data<T>();
  const T* pw = w.data<T>();
  T* po = out.data<T>();  // contiguous [batch, m, n]
  const Shape& sa = a.strides();
  const Shape& sw = w.strides();
  std::memset(po, 0, sizeof(T) * static_cast<size_t>(out.numel()));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < m; ++i) {
      T* out_row = po + (b * m + i) * n;
      for (int64_t p = 0; p < k; ++p) {
        const T a_ip = pa[b * sa[0] + i * sa[1] + p * sa[2]];
        const T* w_row = pw + b * sw[0] + p * sw[1];
        if (sw[2] == 1) {
          for (int64_t j = 0; j < n; ++j) out_row[j] += a_ip * w_row[j];
        } else {
          for (int64_t j = 0; j < n; ++j) out_row[j] += a_ip * w_row[j * sw[2]];
        }
      }
    }
  }
}

}  // namespace

void CpuBackend::matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) fail("matmul: bool tensors are not supported");
    else matmul_typed<T>(a, b, out);
  });
}

}  // namespace dl
