// view.h — a raw broadcast view for op implementations (no autograd
// bookkeeping, like as_strided_view in tensor.h): ops broadcast their inputs
// with it before handing them to a kernel.
#pragma once

#include "tensor/tensor.h"

namespace dl {

// x broadcast to `shape` (stride 0 along repeated dims); `op` names the
// caller in the error when the shapes are not broadcastable.
Tensor expand_view(const char* op, const Tensor& x, const Shape& shape);

}  // namespace dl
