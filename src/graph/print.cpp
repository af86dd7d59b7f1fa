// print.cpp — Tensor::str() and operator<<: the tensor layer's repr
// (tensor/print.h) plus the autograd field, which names the grad_fn's Node.
//
//   tensor([...], shape=[2], dtype=float32, device=cpu, grad_fn=<mul>)
#include <ostream>
#include <string>

#include "graph/node.h"
#include "tensor/print.h"

namespace dl {

std::string Tensor::str() const {
  // Printing is how one debugs, so an undefined tensor (say, a gradient that
  // backward never reached) prints as such instead of throwing.
  if (!defined()) return "tensor(undefined)";
  if (grad_fn()) return repr(*this, "grad_fn=<" + grad_fn()->name + ">");
  return repr(*this, requires_grad() ? "requires_grad=true" : "");
}

std::ostream& operator<<(std::ostream& os, const Tensor& tensor) { return os << tensor.str(); }

}  // namespace dl
