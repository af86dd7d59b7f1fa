// weight_average.cpp — see weight_average.h.
#include "common/weight_average.h"

#include <algorithm>

#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

double ema_decay_at(double decay, int64_t update) {
  const double t = static_cast<double>(update);
  return std::min(decay, (1.0 + t) / (10.0 + t));
}

void append_ema_inputs(std::vector<Tensor>& inputs, double decay, int64_t& updates, Device device) {
  const double decay_t = ema_decay_at(decay, updates++);
  inputs.push_back(full({}, decay_t, DType::Float32, device));
  inputs.push_back(full({}, 1.0 - decay_t, DType::Float32, device));
}

void copy_weights(Module& average, const Module& model) {
  NoGradGuard no_grad;
  const std::vector<NamedTensor> from = model.state_dict();
  std::vector<NamedTensor> to = average.state_dict();
  check(from.size() == to.size(), "copy_weights: ", from.size(), " tensors into ", to.size());
  for (size_t i = 0; i < from.size(); ++i) to[i].tensor.copy_(from[i].tensor);
}

void update_weight_average(Module& average, const Module& model, const Tensor& decay, const Tensor& rest) {
  NoGradGuard no_grad;
  // average = decay * average + (1 - decay) * G, the scalars as 0-dim tensors
  // (what mul_(double) and add_(x, alpha) make of them, so the same bits).
  const std::vector<NamedTensor> params = model.named_parameters();
  std::vector<NamedTensor> averages = average.named_parameters();
  for (size_t i = 0; i < params.size(); ++i) averages[i].tensor.mul_(decay).add_(params[i].tensor * rest);
  const std::vector<NamedTensor> buffers = model.named_buffers();
  std::vector<NamedTensor> copies = average.named_buffers();
  for (size_t i = 0; i < buffers.size(); ++i) copies[i].tensor.copy_(buffers[i].tensor);
}

}  // namespace dl
