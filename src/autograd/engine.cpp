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
#include <unordered_map>
#include <unordered_set>

#include "graph/grad_mode.h"
#include "graph/node.h"
#include "ops/ops.h"

namespace dl {

// ---- backward ----------------------------------------------------------------

namespace {

// Nodes reachable from `root`, each after every Node that consumes it.
// Iterative depth-first search (an explicit stack instead of recursion, so
// deep graphs cannot overflow the call stack): a Node is appended once all
// its inputs are done, giving inputs-before-consumers; reversed at the end.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited{root};
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
  return {order.rbegin(), order.rend()};
}

// sum += gradient, for the engine's pending gradients. Out of place: the
// first contribution may alias another tensor (add's backward hands the same
// gradient to both inputs), so it must not be written to.
void accumulate(Tensor& sum, const Tensor& gradient) { sum = sum.defined() ? add(sum, gradient) : gradient; }

// leaf.grad += gradient. The first contribution is cloned so that .grad
// owns its memory; later ones are added in place into that clone.
void accumulate_into_leaf(TensorImpl& leaf, const Tensor& gradient) {
  if (!leaf.grad) leaf.grad = std::make_shared<Tensor>(gradient.clone());
  else leaf.grad->add_(gradient);
}

// After its backward has run, a Node drops the closure and with it the
// tensors it saved: that is what makes memory fall during backward.
void release(Node& node) {
  node.backward = nullptr;
  node.released = true;
}

void run_backward(const Tensor& root, const Tensor& grad_root, bool retain_graph) {
  if (!root.requires_grad()) {
    const char* op = root.impl().made_by_non_differentiable_op;
    if (op) fail("backward: this tensor was made by ", op, ", which is not differentiable, so it has no graph");
    fail("backward: tensor does not require grad and has no grad_fn (no input of its graph requires grad)");
  }
  Tensor gradient = grad_root;
  if (!gradient.defined()) {
    check(root.numel() == 1, "backward: output has shape ", root.shape(),
          "; pass a gradient of that shape (implicit gradient 1 only for one-element outputs)");
    gradient = ones_like(root);
  }
  check(gradient.shape() == root.shape() && gradient.dtype() == root.dtype(), "backward: gradient ", gradient.shape(),
        " ", gradient.dtype(), " does not match output ", root.shape(), " ", root.dtype());

  NoGradGuard no_grad;  // backward functions compute values, not more graph
  if (root.is_leaf()) {
    accumulate_into_leaf(root.impl(), gradient);
    return;
  }

  std::unordered_map<Node*, Tensor> pending;  // Node -> dL/d(its output), summed so far
  pending[root.grad_fn().get()] = gradient;
  for (Node* node : topological_order(root.grad_fn().get())) {
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

    TensorList input_grads;
    try {
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
      if (edge.leaf) accumulate_into_leaf(*edge.leaf, g);
      else accumulate(pending[edge.node.get()], g);
    }
  }
}

}  // namespace

void Tensor::backward(const Tensor& gradient, bool retain_graph) const { run_backward(*this, gradient, retain_graph); }

}  // namespace dl
