// node.h — one recorded op in the autograd graph, and the two calls every
// op uses to join the graph: save() for tensors backward will need, and
// record() to attach a Node to the op's output. The engine that walks the
// graph (Tensor::backward) is in autograd/engine.cpp.
//
// The graph points backwards: each Node knows where its inputs came from
// (their Nodes, or the leaves they are) but not who consumes its output.
// That is exactly what backward needs, and it lets a graph be freed as soon
// as the last tensor referring to it goes away.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace dl {

using TensorList = std::vector<Tensor>;

// Given dL/d(output), returns dL/d(input) for each input of the op, in order
// (an undefined Tensor for an input that needs no gradient).
using BackwardFn = std::function<TensorList(const Tensor& grad_output)>;

struct Node : std::enable_shared_from_this<Node> {
  // Where the gradient of one op input goes.
  struct Edge {
    std::shared_ptr<Node> node;        // the input was made by an op: its Node
    std::shared_ptr<TensorImpl> leaf;  // the input is a leaf requiring grad
    Shape shape;                       // the input's shape, dtype and device,
    DType dtype = DType::Float32;      // which its gradient must have
    Device device;
    bool needs_grad() const { return node || leaf; }
  };

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();  // frees long chains of inputs without recursion (node.cpp)

  std::string name;  // the op: "mul", "sum", ...
  std::vector<Edge> inputs;
  Shape output_shape;
  BackwardFn backward;    // released after a backward without retain_graph
  bool released = false;  // backward has run and freed what it saved
  // Its backward is written with recorded ops and re-attached saved tensors,
  // and gradgradcheck passes for it: a backward with create_graph may go
  // through it. Ops whose backward calls kernels directly, or uses values
  // computed without a graph, leave it false, and a backward with
  // create_graph refuses to go through them rather than return a wrong
  // second derivative.
  bool differentiable_backward = false;
};

// The Node whose backward is running on this thread (set by the engine), so
// that an op's saved output can be re-attached to it (SavedTensor::get).
Node* running_backward();
class RunningBackward {
 public:
  explicit RunningBackward(Node* node);
  ~RunningBackward();
  RunningBackward(const RunningBackward&) = delete;
  RunningBackward& operator=(const RunningBackward&) = delete;

 private:
  Node* previous_;
};

// A tensor kept for the backward pass. It holds a detached alias (so the
// saved tensor does not keep its own Node alive in a cycle) and the storage
// version at save time: if the data is overwritten in place before backward
// runs, get() refuses instead of silently producing a wrong gradient.
//
// For gradients of gradients, get() in a backward that builds graph (grad
// mode on: create_graph) returns the tensor re-attached to the graph it came
// from, so the gradient computed from it is again a function of the op's
// inputs: a leaf as itself, an op's result through the Node that made it,
// and the op's own output (saved with save_output) through the Node whose
// backward is running. The links are weak: saving never extends a graph's
// life.
class SavedTensor {
 public:
  SavedTensor(const Tensor& tensor, bool is_output);
  Tensor get() const;

 private:
  Tensor tensor_;
  uint64_t version_;
  std::weak_ptr<TensorImpl> leaf_;  // a leaf that requires grad
  std::weak_ptr<Node> grad_fn_;     // the Node that made it
  bool is_output_;
};

// An input (or any tensor not made by the op itself) kept for backward.
inline SavedTensor save(const Tensor& tensor) { return SavedTensor(tensor, false); }
// The op's own result kept for backward (exp's y in dx = dy * y).
inline SavedTensor save_output(const Tensor& tensor) { return SavedTensor(tensor, true); }

// Attach a Node named `name` to `out` if grad mode is on and any of `inputs`
// requires grad; otherwise do nothing (and `backward` is dropped unused).
void record(const char* name, const TensorList& inputs, const Tensor& out, BackwardFn backward);

// record() for an op whose backward is itself differentiable (see
// Node::differentiable_backward).
void record_differentiable(const char* name, const TensorList& inputs, const Tensor& out, BackwardFn backward);

// For ops with no gradient (argmax, comparisons, one_hot, ...): `out` does
// not require grad, and a later backward() through it explains why.
void mark_non_differentiable(const char* name, const TensorList& inputs, const Tensor& out);

}  // namespace dl
