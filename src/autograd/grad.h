// grad.h — gradients as values: torch.autograd.grad.
//
//   GradOptions options;
//   options.create_graph = true;
//   const Tensor g = grad({loss}, {x}, {}, options)[0];  // dloss/dx, with a graph
//
// grad() runs the same walk as Tensor::backward (autograd/engine.cpp) but
// returns d(outputs)/d(inputs) instead of adding into .grad, which it never
// touches. With create_graph the backward functions run with grad mode on,
// so the returned gradients carry a graph of their own: they can be used in
// a loss (a gradient penalty) and differentiated again (a Hessian-vector
// product, a third derivative).
#pragma once

#include <optional>

#include "graph/node.h"

namespace dl {

struct GradOptions {
  // Keep the graph for another backward; default: create_graph.
  std::optional<bool> retain_graph;
  // Record the backward pass itself, so that the gradients are differentiable.
  bool create_graph = false;
  // An input that no output depends on gets an undefined gradient instead of
  // an error.
  bool allow_unused = false;
};

// The gradients of `outputs` (weighted by `grad_outputs`, one per output;
// empty: 1 for one-element outputs) with respect to `inputs`, which must
// require grad (leaves or not), in the order of `inputs`.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                const GradOptions& options = {});

}  // namespace dl
