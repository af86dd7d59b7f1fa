// module.h — Module: a layer or a network of layers, owning named parameters
// and buffers, with PyTorch's naming so that a state_dict is interchangeable.
//
// Names are built as PyTorch builds them: a module's own tensors under their
// registered names ("weight", "running_mean"), each child's under
// "<child name>." ("main.3.weight", "D.0.bias"). The order is PyTorch's
// state_dict order: a module's parameters, then its buffers, then each child
// in registration order, depth first.
//
//   struct Net : Module {
//     std::shared_ptr<Sequential> main = register_module("main", std::make_shared<Sequential>(...));
//     Tensor forward(const Tensor& x) override { return (*main)(x); }
//     std::string describe() const override { return "Net"; }
//   };
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace dl {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // One line about this module alone, as PyTorch prints it:
  // "Conv2d(1, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)".
  virtual std::string describe() const = 0;

  std::vector<NamedTensor> named_parameters() const;
  std::vector<NamedTensor> named_buffers() const;
  std::vector<NamedTensor> state_dict() const;  // parameters and buffers, PyTorch's order
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;  // elements in all parameters

  // Training mode (the default) vs evaluation mode, for this module and all
  // its children: BatchNorm uses batch statistics and Dropout drops only in
  // training mode.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  void zero_grad();  // drops every parameter's gradient

  // Moves every parameter and buffer (and parameter gradients) of the tree to
  // `device`, in place, as PyTorch's Module.to: the Tensor handles stay the
  // same, so the layers' members and an optimizer built on parameters() see
  // the moved tensors. Returns *this for chaining.
  Module& to(Device device);

  // Calls fn on every module of the tree, children first and this one last
  // (PyTorch's Module.apply): how initialisations like dcgan_init visit layers.
  void apply(const std::function<void(Module&)>& fn);

  // The module tree with each module's parameter count, like print(model)
  // in PyTorch plus counts, and the total.
  std::string summary() const;

 protected:
  // Registers a tensor as a parameter (it is made to require grad) or a
  // buffer (state that is saved but not trained: running statistics).
  Tensor register_parameter(const std::string& name, Tensor tensor);
  Tensor register_buffer(const std::string& name, Tensor tensor);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void collect(const std::string& prefix, bool parameters, bool buffers, std::vector<NamedTensor>& out) const;
  void summary_lines(const std::string& name, int depth, std::string& out) const;

  std::vector<NamedTensor> parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace dl
