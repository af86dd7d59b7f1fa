// optimizer.h — what SGD and Adam share: parameter groups with their own
// learning rates, zero_grad, and per-parameter state that a checkpoint saves
// under the parameter's name ("main.0.weight.exp_avg").
//
// Updates run inside a NoGradGuard and write the parameters in place, which
// bumps their storage version: a graph built before step() and used for
// backward after it is refused, as in PyTorch.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace dl {

struct ParamGroup {
  std::vector<NamedTensor> params;  // e.g. module.named_parameters()
  double lr = 1e-3;
  // Adam only: > 0 anneals lr to 0 along a cosine over this many updates of
  // each parameter (tensor/adam_math.h, scheduled_lr), computed from the
  // update counter on the parameter's device, so a step replayed from a
  // CUDA graph follows the schedule.
  int64_t cosine_steps = 0;
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient (others are skipped,
  // as in PyTorch).
  virtual void step() = 0;
  void zero_grad();
  std::vector<ParamGroup>& groups() { return groups_; }

  // The state kinds kept for each parameter once it has been updated
  // ("exp_avg", ...): the "<state name>" part of a state tensor's name.
  virtual std::vector<std::string> state_names() const = 0;

  // The state tensors, named "<param name>.<state name>". load_state_dict
  // copies them in after checking that each belongs to a parameter of this
  // optimizer, is one of state_names(), is given once and has its shape and
  // dtype ("step" counters: 0-dim int64); each goes to its parameter's
  // device. The state is all or nothing: empty (an optimizer that never
  // stepped) or every state of every parameter, because a resumed run with
  // a moment or a counter missing silently diverges from the run it
  // continues. (So the state of an optimizer with a parameter that never
  // got a gradient cannot be loaded back: every app updates every one.)
  // A refused state leaves the optimizer as it was; errors are one line,
  // starting "optimizer state: ".
  std::vector<NamedTensor> state_dict() const;
  void load_state_dict(const std::vector<NamedTensor>& state);

 protected:
  // State tensor `state` of parameter `param`, created as zeros like
  // `like` the first time it is asked for.
  Tensor& state(const std::string& param, const std::string& state, const Tensor& like);
  // The parameter's update counter, state "step": a 0-dim int64 tensor on
  // the parameter's device (as PyTorch's capturable Adam), so that an update
  // never reads it back to the host and can be replayed from a CUDA graph.
  Tensor& step_counter(const std::string& param, Device device);

  std::vector<ParamGroup> groups_;

 private:
  // In creation order, so checkpoints are stable. A deque, because state()
  // hands out references that must survive the creation of later entries.
  std::deque<NamedTensor> state_;
};

// SGD with optional momentum (PyTorch's buffer convention, dampening 0),
// Nesterov momentum and L2 weight decay:
//   g = grad + wd * p;  buf = momentum * buf + g (buf = g at the first step)
//   p -= lr * (nesterov ? g + momentum * buf : buf)      (p -= lr * g without momentum)
class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, double momentum = 0.0, double weight_decay = 0.0, bool nesterov = false);
  void step() override;
  // momentum_buffer and step with momentum; none without.
  std::vector<std::string> state_names() const override;

 private:
  double momentum_, weight_decay_;
  bool nesterov_;
};

// Adam (Kingma & Ba) exactly as PyTorch 1.13 computes it:
//   g = grad + wd * p;  t += 1
//   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
       double weight_decay = 0.0);
  void step() override;
  // exp_avg, exp_avg_sq and step.
  std::vector<std::string> state_names() const override;

 private:
  double beta1_, beta2_, eps_, weight_decay_;
};

}  // namespace dl
