// node.cpp — joining the graph: record() and mark_non_differentiable(),
// SavedTensor's version check, and the Node destructor that frees long
// chains without recursion. Walking the graph (backward) is autograd's.
#include "graph/node.h"

#include <utility>

#include "graph/grad_mode.h"

namespace dl {

// ---- graph lifetime ------------------------------------------------------------

// Dropping the last reference to the end of a 100,000-op chain would destroy
// Node -> input Node -> ... recursively and overflow the call stack. Instead,
// a dying Node takes over its inputs and releases them from a loop: an input
// that nobody else holds has its own inputs moved out first, so its
// destructor has nothing left to recurse into.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> to_release;
  for (Edge& edge : inputs) {
    if (edge.node) to_release.push_back(std::move(edge.node));
  }
  while (!to_release.empty()) {
    std::shared_ptr<Node> node = std::move(to_release.back());
    to_release.pop_back();
    if (node.use_count() == 1) {
      for (Edge& edge : node->inputs) {
        if (edge.node) to_release.push_back(std::move(edge.node));
      }
    }
  }
}

// ---- recording ---------------------------------------------------------------

SavedTensor::SavedTensor(const Tensor& tensor, bool is_output)
    : tensor_(tensor.detach()), version_(tensor.storage()->version()), is_output_(is_output) {
  if (tensor.requires_grad() && tensor.is_leaf()) leaf_ = tensor.impl_ptr();
  if (tensor.grad_fn()) grad_fn_ = tensor.grad_fn();
}

Tensor SavedTensor::get() const {
  check(tensor_.storage()->version() == version_,
        "a tensor saved for backward was modified in place after it was saved (storage version ",
        tensor_.storage()->version(), ", saved at ", version_, "); clone() it before modifying");
  if (!grad_enabled()) return tensor_;
  if (std::shared_ptr<TensorImpl> leaf = leaf_.lock()) return Tensor(leaf);
  std::shared_ptr<Node> node = grad_fn_.lock();
  if (!node && is_output_ && running_backward()) node = running_backward()->shared_from_this();
  if (!node) return tensor_;
  // An alias of the saved values whose gradient flows into `node`.
  Tensor attached = tensor_.detach();
  attached.impl().grad_fn = std::move(node);
  attached.impl().requires_grad = true;
  return attached;
}

namespace {
thread_local Node* running_node = nullptr;
}

Node* running_backward() { return running_node; }
RunningBackward::RunningBackward(Node* node) : previous_(running_node) { running_node = node; }
RunningBackward::~RunningBackward() { running_node = previous_; }

namespace {
// The non-differentiable op, if any, that cut the graph above these inputs:
// kept on outputs so that backward() far below can still name it.
const char* inherited_cut(const TensorList& inputs) {
  for (const Tensor& input : inputs) {
    if (input.impl().made_by_non_differentiable_op) return input.impl().made_by_non_differentiable_op;
  }
  return nullptr;
}
}  // namespace

void record_differentiable(const char* name, const TensorList& inputs, const Tensor& out, BackwardFn backward) {
  record(name, inputs, out, std::move(backward));
  if (out.grad_fn()) out.grad_fn()->differentiable_backward = true;
}

void record(const char* name, const TensorList& inputs, const Tensor& out, BackwardFn backward) {
  if (!grad_enabled()) return;
  bool any_requires_grad = false;
  for (const Tensor& input : inputs) any_requires_grad |= input.requires_grad();
  if (!any_requires_grad) {
    out.impl().made_by_non_differentiable_op = inherited_cut(inputs);
    return;
  }

  auto node = std::make_shared<Node>();
  node->name = name;
  node->output_shape = out.shape();
  node->backward = std::move(backward);
  for (const Tensor& input : inputs) {
    Node::Edge edge;
    edge.shape = input.shape();
    edge.dtype = input.dtype();
    edge.device = input.device();
    if (input.requires_grad()) {
      if (input.is_leaf()) edge.leaf = input.impl_ptr();
      else edge.node = input.grad_fn();
    }
    node->inputs.push_back(std::move(edge));
  }
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
}

void mark_non_differentiable(const char* name, const TensorList& inputs, const Tensor& out) {
  bool any_requires_grad = false;
  for (const Tensor& input : inputs) any_requires_grad |= input.requires_grad();
  out.impl().made_by_non_differentiable_op = any_requires_grad ? name : inherited_cut(inputs);
}

}  // namespace dl
