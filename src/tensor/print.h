// print.h — the text of a tensor's repr (tensor/print.cpp), for
// Tensor::str() to finish. Printing a grad_fn needs its Node's name, which
// only the graph layer knows, so Tensor::str() lives there (graph/print.cpp)
// and hands the autograd part of the repr in here.
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace dl {

// "tensor(<values>, shape=[...], dtype=..., device=...)", with
// ", <autograd_field>" before the closing parenthesis unless it is empty.
// `tensor` must be defined.
std::string repr(const Tensor& tensor, const std::string& autograd_field);

}  // namespace dl
