// module.cpp — see module.h.
#include "nn/module.h"

#include "tensor/error.h"

namespace dl {

namespace {
void check_new_name(const std::string& name, const std::vector<NamedTensor>& params,
                    const std::vector<NamedTensor>& buffers,
                    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children) {
  check(!name.empty() && name.find('.') == std::string::npos, "Module: invalid name '", name,
        "' (non-empty, without '.')");
  for (const NamedTensor& t : params) check(t.name != name, "Module: '", name, "' is already a parameter");
  for (const NamedTensor& t : buffers) check(t.name != name, "Module: '", name, "' is already a buffer");
  for (const auto& child : children) check(child.first != name, "Module: '", name, "' is already a child module");
}
}  // namespace

Tensor Module::register_parameter(const std::string& name, Tensor tensor) {
  check_new_name(name, parameters_, buffers_, children_);
  tensor.set_requires_grad(true);
  parameters_.push_back({name, tensor});
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name, parameters_, buffers_, children_);
  buffers_.push_back({name, tensor});
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check(child != nullptr, "Module: child '", name, "' is null");
  check_new_name(name, parameters_, buffers_, children_);
  children_.push_back({name, std::move(child)});
}

void Module::collect(const std::string& prefix, bool parameters, bool buffers, std::vector<NamedTensor>& out) const {
  if (parameters) {
    for (const NamedTensor& t : parameters_) out.push_back({prefix + t.name, t.tensor});
  }
  if (buffers) {
    for (const NamedTensor& t : buffers_) out.push_back({prefix + t.name, t.tensor});
  }
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", parameters, buffers, out);
}

std::vector<NamedTensor> Module::named_parameters() const {
  std::vector<NamedTensor> out;
  collect("", true, false, out);
  return out;
}

std::vector<NamedTensor> Module::named_buffers() const {
  std::vector<NamedTensor> out;
  collect("", false, true, out);
  return out;
}

std::vector<NamedTensor> Module::state_dict() const {
  std::vector<NamedTensor> out;
  collect("", true, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (const NamedTensor& t : named_parameters()) out.push_back(t.tensor);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const NamedTensor& t : named_parameters()) n += t.tensor.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (const auto& child : children_) child.second->train(on);
}

void Module::zero_grad() {
  for (const NamedTensor& t : named_parameters()) t.tensor.zero_grad();
}

namespace {
// Re-points t's TensorImpl (shared by every handle to t) at a copy of its
// values on `device`; autograd identity (requires_grad, leaf-ness) is kept.
void move_in_place(const Tensor& t, Device device) {
  if (t.device() == device) return;
  const Tensor moved = t.detach().to(device);
  TensorImpl& impl = t.impl();
  impl.storage = moved.storage();
  impl.strides = moved.strides();
  impl.offset = moved.offset();
  if (impl.grad) impl.grad = std::make_shared<Tensor>(impl.grad->detach().to(device));
}
}  // namespace

Module& Module::to(Device device) {
  for (const NamedTensor& t : state_dict()) move_in_place(t.tensor, device);
  return *this;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (const auto& child : children_) child.second->apply(fn);
  fn(*this);
}

void Module::summary_lines(const std::string& name, int depth, std::string& out) const {
  const std::string indent(2 * depth, ' ');
  out += indent + (name.empty() ? "" : "(" + name + "): ") + describe();
  const int64_t count = parameter_count();
  if (count > 0) out += "  [" + std::to_string(count) + " parameters]";
  out += "\n";
  for (const auto& [child_name, child] : children_) child->summary_lines(child_name, depth + 1, out);
}

std::string Module::summary() const {
  std::string out;
  summary_lines("", 0, out);
  return out + "total: " + std::to_string(parameter_count()) + " parameters\n";
}

}  // namespace dl
