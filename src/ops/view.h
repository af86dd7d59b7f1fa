// view.h — raw view construction for op implementations: new shape, strides
// and offset over the same storage, with no autograd bookkeeping. Ops use
// these for internal views (e.g. broadcasting inputs before a kernel); user
// code calls the differentiable Tensor methods instead.
#pragma once

#include "tensor/tensor.h"

namespace dl {

Tensor as_strided_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

// x broadcast to `shape` (stride 0 along repeated dims); `op` names the
// caller in the error when the shapes are not broadcastable.
Tensor expand_view(const char* op, const Tensor& x, const Shape& shape);

}  // namespace dl
