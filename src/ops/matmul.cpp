// matmul.cpp — matrix multiply, 2-D and batched with broadcast batch dims.
//
// For C = A @ B (A: [.., M, K], B: [.., K, N]) and L depending on C:
//   dA = dC @ B^T     dB = A^T @ dC
// each summed back over batch dims that broadcasting added (sum_to).
// 1-D operands are turned into matrices with unsqueeze and the extra dim is
// squeezed from the result, so autograd handles them through those views.
#include "graph/grad_mode.h"
#include "graph/node.h"
#include "ops/ops.h"
#include "ops/view.h"
#include "tensor/backend.h"

namespace dl {

Tensor matmul(const Tensor& a, const Tensor& b) {
  check(a.dim() >= 1 && b.dim() >= 1, "matmul: expected tensors with at least 1 dim, got shapes ", a.shape(), " and ",
        b.shape());
  check(a.dtype() == b.dtype() && a.dtype() != DType::Bool, "matmul: dtypes ", a.dtype(), " ", a.shape(), " and ",
        b.dtype(), " ", b.shape(), " (expected two equal, non-bool dtypes)");
  check(a.device() == b.device(), "matmul: tensors on different devices, ", a.device(), " and ", b.device());
  // Checked before 1-D operands are unsqueezed, so that the message names the
  // shapes the caller passed ([3] rather than the internal [1, 3]).
  const int64_t k = a.size(-1), b_rows = b.dim() == 1 ? b.size(0) : b.size(-2);
  check(b_rows == k, "matmul: shapes ", a.shape(), " and ", b.shape(), " are not aligned (", k, " columns vs ",
        b_rows, " rows)");
  // 1-D @ 1-D is a dot product with a 0-dim result. (Going through the
  // 1-D-left case below would squeeze(-2) a [1] result, which has no dim -2.)
  if (a.dim() == 1 && b.dim() == 1) return matmul(a.unsqueeze(0), b.unsqueeze(-1)).reshape({});
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(-1)).squeeze(-1);

  const int64_t m = a.size(-2), n = b.size(-1);
  const Shape batch = broadcast_shapes("matmul", Shape(a.shape().begin(), a.shape().end() - 2),
                                       Shape(b.shape().begin(), b.shape().end() - 2));
  const int64_t batch_count = shape_numel(batch);
  auto with_batch = [&](int64_t rows, int64_t cols) {
    Shape shape = batch;
    shape.push_back(rows);
    shape.push_back(cols);
    return shape;
  };

  Tensor out = Tensor::empty({batch_count, m, n}, a.dtype(), a.device());
  {
    // The kernel takes 3-D operands; broadcast batch dims are flattened into
    // one (a copy only when the broadcast cannot be flattened as a view).
    NoGradGuard no_grad;
    const Tensor a3 = expand_view("matmul", a, with_batch(m, k)).reshape({batch_count, m, k});
    const Tensor b3 = expand_view("matmul", b, with_batch(k, n)).reshape({batch_count, k, n});
    backend(a.device()).matmul(a3, b3, out);
  }
  const Shape out_shape = with_batch(m, n);
  Tensor y = as_strided_view(out, out_shape, contiguous_strides(out_shape), 0);
  // Each gradient is a full matmul, so only the ones some input needs are
  // computed (for data @ W, d(data) would be wasted work). The flags are
  // taken now, when the graph's edges are fixed too.
  record_differentiable("matmul", {a, b}, y,
         [as = save(a), bs = save(b), need_a = a.requires_grad(), need_b = b.requires_grad()](const Tensor& dy) {
           const Tensor &a = as.get(), &b = bs.get();
           return TensorList{need_a ? sum_to(matmul(dy, b.transpose(-1, -2)), a.shape()) : Tensor(),
                             need_b ? sum_to(matmul(a.transpose(-1, -2), dy), b.shape()) : Tensor()};
         });
  return y;
}

}  // namespace dl
