// optimizer.cpp — see optimizer.h. SGD's update is written with tensor ops,
// so it runs on any device; Adam's is one fused kernel for all the
// parameters of a group (Backend::adam_step, tensor/adam_math.h).
#include "optim/optimizer.h"

#include <algorithm>
#include <map>
#include <set>

#include "graph/grad_mode.h"
#include "ops/ops.h"
#include "tensor/backend.h"

namespace dl {

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  for (const ParamGroup& group : groups_) {
    check(group.lr >= 0, "optimizer: learning rate must be >= 0, got ", group.lr);
    for (const NamedTensor& p : group.params) {
      check(p.tensor.defined() && p.tensor.requires_grad(), "optimizer: parameter '", p.name,
            "' must be a tensor that requires grad");
    }
  }
}

void Optimizer::zero_grad() {
  for (const ParamGroup& group : groups_) {
    for (const NamedTensor& p : group.params) p.tensor.zero_grad();
  }
}

Tensor& Optimizer::state(const std::string& param, const std::string& name, const Tensor& like) {
  const std::string key = param + "." + name;
  for (NamedTensor& s : state_) {
    if (s.name == key) return s.tensor;
  }
  state_.push_back({key, zeros(like.shape(), like.dtype(), like.device())});
  return state_.back().tensor;
}

Tensor& Optimizer::step_counter(const std::string& param, Device device) {
  return state(param, "step", scalar_tensor(0, DType::Int64, device));
}

std::vector<NamedTensor> Optimizer::state_dict() const { return {state_.begin(), state_.end()}; }

namespace {

// "exp_avg, exp_avg_sq, step", or "no state" for none.
std::string list_names(const std::vector<std::string>& names) {
  if (names.empty()) return "no state";
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

void Optimizer::load_state_dict(const std::vector<NamedTensor>& state) {
  // Everything is checked before anything is replaced, so a bad checkpoint
  // leaves the optimizer as it was.
  const std::vector<std::string> kinds = state_names();
  std::map<std::string, const Tensor*> params;
  for (const ParamGroup& group : groups_) {
    for (const NamedTensor& p : group.params) params[p.name] = &p.tensor;
  }
  std::set<std::string> given, params_with_state;
  for (const NamedTensor& s : state) {
    const size_t dot = s.name.rfind('.');
    check(dot != std::string::npos, "optimizer state: '", s.name, "': expected <param name>.<state name>");
    const std::string param = s.name.substr(0, dot), kind = s.name.substr(dot + 1);
    const auto owner = params.find(param);
    check(owner != params.end(), "optimizer state: '", s.name, "': no parameter named '", param,
          "' in this optimizer");
    check(std::find(kinds.begin(), kinds.end(), kind) != kinds.end(), "optimizer state: parameter '", param,
          "' has an unexpected '", kind, "' (this optimizer keeps ", list_names(kinds), ")");
    check(given.insert(s.name).second, "optimizer state: '", s.name, "' is given twice");
    params_with_state.insert(param);
    const bool is_step = kind == "step";
    const Shape expected_shape = is_step ? Shape{} : owner->second->shape();
    const DType expected_dtype = is_step ? DType::Int64 : owner->second->dtype();
    check(s.tensor.defined() && s.tensor.shape() == expected_shape && s.tensor.dtype() == expected_dtype,
          "optimizer state: '", s.name, "': expected ", expected_shape, " ", expected_dtype, ", got ",
          s.tensor.defined() ? concat(s.tensor.shape(), " ", s.tensor.dtype()) : "undefined");
  }
  if (!state.empty()) {
    for (const ParamGroup& group : groups_) {
      for (const NamedTensor& p : group.params) {
        check(params_with_state.count(p.name) != 0, "optimizer state: parameter '", p.name,
              "' has none, although others have theirs (the state is all or nothing)");
        for (const std::string& kind : kinds) {
          check(given.count(p.name + "." + kind) != 0, "optimizer state: parameter '", p.name, "' has no '", kind,
                "'");
        }
      }
    }
  }
  // Each state tensor goes to its parameter's device (a checkpoint is read
  // on the CPU; the model may be on a GPU), the step counters too.
  state_.clear();
  for (const NamedTensor& s : state) {
    const std::string param = s.name.substr(0, s.name.rfind('.'));
    state_.push_back({s.name, s.tensor.clone().to(params.at(param)->device())});
  }
}

SGD::SGD(std::vector<ParamGroup> groups, double momentum, double weight_decay, bool nesterov)
    : Optimizer(std::move(groups)), momentum_(momentum), weight_decay_(weight_decay), nesterov_(nesterov) {
  check(!nesterov || momentum > 0, "SGD: nesterov needs momentum > 0");
}

void SGD::step() {
  NoGradGuard no_grad;
  for (ParamGroup& group : groups_) {
    check(group.cosine_steps == 0, "SGD: cosine_steps is Adam's; set the group's lr instead");
    for (NamedTensor& p : group.params) {
      const Tensor grad = p.tensor.grad();
      if (!grad.defined()) continue;
      Tensor g = weight_decay_ != 0 ? grad + p.tensor * weight_decay_ : grad;
      if (momentum_ != 0) {
        Tensor& buffer = state(p.name, "momentum_buffer", p.tensor);
        Tensor& steps = step_counter(p.name, p.tensor.device());
        // PyTorch starts the buffer as a copy of the first gradient. (Reading
        // the counter waits for a GPU; SGD is not in the InfoGAN's step.)
        buffer = steps.item() == 0 ? g.clone() : buffer * momentum_ + g;
        steps.add_(ones({}, DType::Int64, steps.device()));
        g = nesterov_ ? g + buffer * momentum_ : buffer;
      }
      p.tensor.add_(g, -group.lr);
    }
  }
}

std::vector<std::string> SGD::state_names() const {
  if (momentum_ == 0) return {};  // step() keeps nothing then
  return {"momentum_buffer", "step"};
}

Adam::Adam(std::vector<ParamGroup> groups, double beta1, double beta2, double eps, double weight_decay)
    : Optimizer(std::move(groups)), beta1_(beta1), beta2_(beta2), eps_(eps), weight_decay_(weight_decay) {
  check(0 <= beta1 && beta1 < 1 && 0 <= beta2 && beta2 < 1, "Adam: betas must be in [0, 1), got (", beta1, ", ",
        beta2, ")");
  check(eps >= 0, "Adam: eps must be >= 0, got ", eps);
}

std::vector<std::string> Adam::state_names() const { return {"exp_avg", "exp_avg_sq", "step"}; }

void Adam::step() {
  NoGradGuard no_grad;
  const Backend::AdamOptions options = {0, beta1_, beta2_, eps_, weight_decay_, 0};
  for (ParamGroup& group : groups_) {
    // One adam_step per group and device, over every parameter with a gradient.
    std::vector<std::pair<Device, std::vector<Backend::AdamParam>>> by_device;
    for (NamedTensor& p : group.params) {
      const Tensor grad = p.tensor.grad();
      if (!grad.defined()) continue;
      const Device device = p.tensor.device();
      Backend::AdamParam update = {p.tensor, grad.contiguous(), state(p.name, "exp_avg", p.tensor),
                                   state(p.name, "exp_avg_sq", p.tensor), step_counter(p.name, device)};
      auto it = std::find_if(by_device.begin(), by_device.end(), [&](const auto& d) { return d.first == device; });
      if (it == by_device.end()) it = by_device.insert(by_device.end(), {device, {}});
      it->second.push_back(std::move(update));
    }
    Backend::AdamOptions group_options = options;
    group_options.lr = group.lr;
    group_options.cosine_steps = group.cosine_steps;
    for (const auto& [device, updates] : by_device) {
      backend(device).adam_step(updates, group_options);
      // The kernel writes the storage in place, so the versions are bumped here as add_ did.
      for (const Backend::AdamParam& u : updates) {
        u.param.storage()->bump_version();
        u.step.storage()->bump_version();
      }
    }
  }
}

}  // namespace dl
