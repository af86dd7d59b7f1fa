// cuda_graph.h — record the kernels that a piece of code launches on a GPU
// once, then replay all of them with one call.
//
// Launching a kernel costs the host a few microseconds; a training step of
// small layers launches about a thousand, so on a fast GPU the host, not the
// GPU, sets the pace. A CUDA graph removes that: capture() runs `body` once
// while CUDA records every launch and copy on the device's stream (nothing
// is executed then), and replay() runs the recording as one unit.
//
// What a replay does is exactly what the capture saw: the same kernels on
// the same addresses with the same scalar arguments. So, for `body`:
//  - inputs that change between replays must be tensors created before the
//    capture, whose contents the caller overwrites (copy_) before replay();
//  - state that changes between replays must live on the device and be
//    updated in place (parameters and Adam's moments and step counters,
//    BatchNorm's running statistics);
//  - it must not read a tensor back to the host, nor copy one from the
//    host (both are refused with an error during a capture);
//  - the tensors it creates keep their memory for the life of the graph
//    (tensor/cuda/memory.cu, "Graph pools"), so the outputs it returns stay
//    valid and are rewritten by every replay.
// Host-side effects of `body` (counters, logs) happen once, at capture.
#pragma once

#include <functional>
#include <memory>

#include "tensor/device.h"

namespace dl {

class CudaGraph {
 public:
  // A one-line error unless `device` is a visible CUDA device.
  explicit CudaGraph(Device device);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Records `body` (once per graph). If body throws, nothing is recorded and
  // the error propagates.
  void capture(const std::function<void()>& body);
  // Queues the recorded work on the device's stream (the host does not wait).
  void replay();
  bool captured() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dl
