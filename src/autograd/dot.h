// dot.h — export the autograd graph behind a tensor as Graphviz DOT, to look
// at what backward() will walk: which ops were recorded, which leaves will
// receive gradients, and where a subexpression is shared.
//
// Boxes are op Nodes ("mul\n[2, 3]": op name and output shape), ellipses are
// leaves that require grad; edges point in data-flow direction (leaf -> op ->
// op), and the Node that made the root has a double outline. Leaves that do
// not require grad are not in the graph (autograd does not record them).
//
//   dl::write_file_atomic("graph.dot", dl::to_dot(loss));   // data/file.h
//   $ dot -Tsvg graph.dot -o graph.svg
//   $ xdg-open graph.svg
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace dl {

// The DOT text: "digraph autograd { ... }". Node ids are n0, n1, ... in the
// order the walk from the root first meets them, so the same graph always
// gives the same text. A root with no grad_fn gives a single leaf node if it
// requires grad, else an empty digraph. Writing the text to a file is the
// caller's (write_file_atomic, data/file.h), so autograd/ needs no data/.
std::string to_dot(const Tensor& root);

}  // namespace dl
