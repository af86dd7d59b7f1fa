// captured_step.h — a training step replayed from a CUDA graph, for any app.
//
// A step is a function of device tensors (the batch, the latent codes drawn
// on the host, per-step scalars such as an EMA decay as 0-dim tensors) to
// one tensor of logged values. On a GPU with graphs on, for each set of
// input shapes the first call runs eagerly (it creates the optimizers'
// state), the second is captured (tensor/cuda_graph.h) and replayed, and
// every later one copies its inputs into the captured ones and replays.
// So the numbers are those of the eager step, and everything that changes
// between steps must be an input or live on the device (parameters, Adam's
// moments and step counters, BatchNorm statistics); a host scalar that the
// step reads (a learning rate set on the optimizer) is frozen at capture.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "tensor/cuda_graph.h"
#include "tensor/tensor.h"

namespace dl {

class CapturedStep {
 public:
  using Step = std::function<Tensor(const std::vector<Tensor>& inputs)>;
  explicit CapturedStep(Step step) : step_(std::move(step)) {}

  // The step on `inputs` (all on one device): eager on the CPU or when
  // `use_graph` is false, else as described above. The result is the
  // caller's (a replay's output is copied out before the next one).
  Tensor operator()(const std::vector<Tensor>& inputs, bool use_graph);

 private:
  Step step_;
  std::vector<Shape> eager_shapes_;  // of the last eager call on a GPU
  std::unique_ptr<CudaGraph> graph_;
  std::vector<Tensor> captured_inputs_;  // what the graph reads
  Tensor captured_output_;               // what the graph writes
};

}  // namespace dl
