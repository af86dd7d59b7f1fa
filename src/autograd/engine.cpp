// engine.cpp — the reverse-mode autograd engine.
//
// Forward: every differentiable op calls record() (graph/node.cpp), which
// hangs a Node on its output. The Node remembers where each input came from and holds a closure
// that maps dL/d(output) to dL/d(inputs).
//
// Backward (run_backward):
//   1. Order the Nodes reachable from the root so that every Node comes
//      after all Nodes that consume its output (reverse topological order).
//   2. Walk that order. A Node's gradient is complete when its turn comes,
//      because every consumer has already added its contribution. Call the
//      Node's backward and add (+=) each input gradient to where that input
//      came from: another Node's pending gradient, or a leaf's .grad.
// A tensor used twice therefore receives the sum of both contributions.
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "graph/grad_mode.h"
#include "graph/node.h"
#include "autograd/grad.h"
#include "ops/ops.h"

namespace dl {

// ---- backward ----------------------------------------------------------------

namespace {

// sum += gradient, for the engine's pending gradients. Out of place: the
// first contribution may alias another tensor (add's backward hands the same
// gradient to both inputs), so it must not be written to. With create_graph
// the add is recorded like any op, so the sum keeps its graph.
void accumulate(Tensor& sum, const Tensor& gradient) { sum = sum.defined() ? add(sum, gradient) : gradient; }

// leaf.grad += gradient. Without create_graph the first contribution is
// cloned so that .grad owns its memory, and later ones are added in place
// into that clone. With create_graph, .grad must keep the gradient's graph
// (a gradient penalty differentiates it again), so it is the gradient itself
// and later contributions are added out of place, as in PyTorch; a .grad that
// carries a graph is never written in place either.
void accumulate_into_leaf(TensorImpl& leaf, const Tensor& gradient, bool create_graph) {
  if (!leaf.grad) {
    leaf.grad = std::make_shared<Tensor>(create_graph && gradient.requires_grad() ? gradient : gradient.clone());
  } else if (create_graph || leaf.grad->requires_grad()) {
    leaf.grad = std::make_shared<Tensor>(add(*leaf.grad, gradient));
  } else {
    leaf.grad->add_(gradient);
  }
}

// After its backward has run, a Node drops the closure and with it the
// tensors it saved: that is what makes memory fall during backward.
void release(Node& node) {
  node.backward = nullptr;
  node.released = true;
}

// Where a walk's gradients go: those reaching a leaf to `to_leaf`; those
// reaching the output of a Node in `wanted` (the non-leaf inputs of grad())
// are added into its slot there as well, before that Node's backward runs.
struct GradientSinks {
  std::function<void(TensorImpl& leaf, const Tensor& gradient)> to_leaf;
  std::unordered_map<Node*, Tensor>* wanted = nullptr;
};

// Nodes reachable from any of `roots`, each after every Node that consumes
// it: the order of one backward over several outputs.
std::vector<Node*> order_from(const std::vector<Node*>& roots) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  for (Node* root : roots) {
    if (!visited.insert(root).second) continue;
    std::vector<std::pair<Node*, size_t>> stack{{root, 0}};  // node, next input to visit
    while (!stack.empty()) {
      auto& [node, next_input] = stack.back();
      if (next_input < node->inputs.size()) {
        Node* input = node->inputs[next_input++].node.get();
        if (input && visited.insert(input).second) stack.push_back({input, 0});
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return {order.rbegin(), order.rend()};
}

// The gradient a root starts with: `given`, or 1 for a one-element root.
Tensor root_gradient(const Tensor& root, const Tensor& given) {
  if (!root.requires_grad()) {
    const char* op = root.impl().made_by_non_differentiable_op;
    if (op) fail("backward: this tensor was made by ", op, ", which is not differentiable, so it has no graph");
    fail("backward: tensor does not require grad and has no grad_fn (no input of its graph requires grad)");
  }
  Tensor gradient = given;
  if (!gradient.defined()) {
    check(root.numel() == 1, "backward: output has shape ", root.shape(),
          "; pass a gradient of that shape (implicit gradient 1 only for one-element outputs)");
    gradient = ones_like(root);
  }
  check(gradient.shape() == root.shape() && gradient.dtype() == root.dtype(), "backward: gradient ", gradient.shape(),
        " ", gradient.dtype(), " does not match output ", root.shape(), " ", root.dtype());
  return gradient;
}

// The walk itself. Without create_graph backward functions compute values
// only (grad mode off); with it they run with grad mode on, so every op they
// call is recorded and the gradients they return carry a graph of their own.
void run_backward(const TensorList& roots, const TensorList& root_grads, bool retain_graph, bool create_graph,
                  const GradientSinks& sinks) {
  std::unordered_map<Node*, Tensor> pending;  // Node -> dL/d(its output), summed so far
  std::vector<Node*> root_nodes;
  {
    const EnableGradGuard grad_mode(create_graph);
    for (size_t r = 0; r < roots.size(); ++r) {
      const Tensor gradient = root_gradient(roots[r], r < root_grads.size() ? root_grads[r] : Tensor());
      if (roots[r].is_leaf()) {
        sinks.to_leaf(roots[r].impl(), gradient);
      } else {
        accumulate(pending[roots[r].grad_fn().get()], gradient);
        root_nodes.push_back(roots[r].grad_fn().get());
      }
    }
  }

  const EnableGradGuard grad_mode(create_graph);
  for (Node* node : order_from(root_nodes)) {
    check(!node->released, "backward: the graph through '", node->name,
          "' was already freed by an earlier backward(); pass retain_graph=true to the first backward to go "
          "through it twice");
    auto it = pending.find(node);
    if (it == pending.end()) {
      // Every path here returned an undefined gradient: nothing flows on.
      if (!retain_graph) release(*node);
      continue;
    }
    const Tensor grad_output = std::move(it->second);
    pending.erase(it);
    if (sinks.wanted) {
      auto slot = sinks.wanted->find(node);
      if (slot != sinks.wanted->end()) accumulate(slot->second, grad_output);
    }
    check(!create_graph || node->differentiable_backward, node->name,
          " backward: not differentiable yet (its backward calls kernels directly or uses values computed without "
          "a graph), so a backward with create_graph cannot go through it");

    TensorList input_grads;
    try {
      const RunningBackward running(node);
      input_grads = node->backward(grad_output);
    } catch (const Error& e) {
      fail(node->name, " backward: ", e.what());
    }
    if (!retain_graph) release(*node);
    check(input_grads.size() == node->inputs.size(), node->name, " backward: returned ", input_grads.size(),
          " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Node::Edge& edge = node->inputs[i];
      const Tensor& g = input_grads[i];
      if (!edge.needs_grad() || !g.defined()) continue;
      check(g.shape() == edge.shape && g.dtype() == edge.dtype && g.device() == edge.device, node->name,
            " backward: gradient ", g.shape(), " ", g.dtype(), " on ", g.device(), " for input ", i, " of shape ",
            edge.shape, " ", edge.dtype, " on ", edge.device);
      if (edge.leaf) sinks.to_leaf(*edge.leaf, g);
      else accumulate(pending[edge.node.get()], g);
    }
  }
}

}  // namespace

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  GradientSinks sinks;
  sinks.to_leaf = [create_graph](TensorImpl& leaf, const Tensor& g) { accumulate_into_leaf(leaf, g, create_graph); };
  run_backward({*this}, {gradient}, retain_graph || create_graph, create_graph, sinks);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                const GradOptions& options) {
  check(!outputs.empty(), "grad: no outputs");
  check(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "grad: ", grad_outputs.size(),
        " grad_outputs for ", outputs.size(), " outputs");
  // Each input's gradient is collected where it arrives: at the leaf, or at
  // the Node that made it; .grad is not touched.
  std::unordered_map<const TensorImpl*, Tensor> at_leaf;
  std::unordered_map<Node*, Tensor> at_node;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check(inputs[i].requires_grad(), "grad: input ", i, " does not require grad");
    if (inputs[i].is_leaf()) at_leaf[&inputs[i].impl()];
    else at_node[inputs[i].grad_fn().get()];
  }
  GradientSinks sinks;
  sinks.to_leaf = [&](TensorImpl& leaf, const Tensor& g) {
    auto slot = at_leaf.find(&leaf);
    if (slot != at_leaf.end()) accumulate(slot->second, g);
  };
  sinks.wanted = &at_node;
  const bool retain = options.retain_graph.value_or(options.create_graph);
  run_backward(outputs, grad_outputs, retain, options.create_graph, sinks);
  TensorList gradients;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& g = inputs[i].is_leaf() ? at_leaf[&inputs[i].impl()] : at_node[inputs[i].grad_fn().get()];
    check(g.defined() || options.allow_unused, "grad: input ", i,
          " is not used in the graph of the outputs (pass allow_unused to get an undefined gradient for it)");
    gradients.push_back(g);
  }
  return gradients;
}

}  // namespace dl
