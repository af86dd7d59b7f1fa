// captured_step.cpp — see captured_step.h.
#include "common/captured_step.h"

namespace dl {

namespace {

std::vector<Shape> shapes_of(const std::vector<Tensor>& tensors) {
  std::vector<Shape> shapes;
  for (const Tensor& t : tensors) shapes.push_back(t.shape());
  return shapes;
}

}  // namespace

Tensor CapturedStep::operator()(const std::vector<Tensor>& inputs, bool use_graph) {
  const Device device = inputs.at(0).device();
  if (!use_graph || !device.is_cuda()) return step_(inputs);
  const std::vector<Shape> shapes = shapes_of(inputs);
  if (graph_ && shapes_of(captured_inputs_) == shapes) {
    for (size_t i = 0; i < inputs.size(); ++i) captured_inputs_[i].copy_(inputs[i]);
  } else {
    graph_.reset();  // new shapes: the old graph (and its memory) goes
    if (eager_shapes_ != shapes) {
      eager_shapes_ = shapes;
      return step_(inputs);
    }
    // The capture records this step's kernels on copies of its inputs; the
    // replay below then runs it.
    graph_ = std::make_unique<CudaGraph>(device);
    captured_inputs_.clear();
    for (const Tensor& input : inputs) captured_inputs_.push_back(input.clone());
    graph_->capture([&] { captured_output_ = step_(captured_inputs_); });
  }
  graph_->replay();
  return captured_output_.clone();  // the next replay overwrites it
}

}  // namespace dl
