// one_hot.cpp — class indices to one-hot rows (not differentiable).
//
// one_hot(i, C)[..., c] = (i[...] == c), computed as a broadcast comparison
// of indices [..., 1] against arange(C) [C].
#include "graph/node.h"
#include "ops/ops.h"
#include "tensor/backend.h"

namespace dl {

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  check(indices.dtype() == DType::Int64, "one_hot: expected int64 class indices, got ", indices.dtype(), " ",
        indices.shape());
  check(num_classes > 0, "one_hot: num_classes must be positive, got ", num_classes);
  // On a GPU the check raises at the next read back to the host.
  backend(indices.device())
      .check_range(indices, 0.0, static_cast<double>(num_classes - 1),
                   concat("one_hot: an index is out of range [0, ", num_classes, ") in tensor of shape ",
                          indices.shape()));
  Tensor out = eq(indices.unsqueeze(-1), arange(num_classes, DType::Int64, indices.device())).to(DType::Int64);
  mark_non_differentiable("one_hot", {indices}, out);
  return out;
}

}  // namespace dl
