// layers.h — the layers of PyTorch's torch.nn that InfoGAN and a classifier
// need, as Modules over the functional ops of ops/ops.h. Each layer owns its
// parameters and buffers under PyTorch's names, initialises them as PyTorch
// does (reset_parameters: kaiming-uniform with a = sqrt(5), i.e. weights and
// biases uniform in +-1/sqrt(fan_in)), and describes itself as PyTorch
// prints it.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "nn/module.h"
#include "tensor/conv_geometry.h"

namespace dl {

// y = x W^T + b;  W [out, in], b [out]
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor weight, bias;  // bias undefined without bias

 private:
  int64_t in_, out_;
};

// weight [out, in, kh, kw] (PyTorch's layout).
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel, Pair stride = {1, 1}, Pair padding = {0, 0},
         bool bias = true);
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
         bool bias = true)
      : Conv2d(in_channels, out_channels, Pair{kernel, kernel}, Pair{stride, stride}, Pair{padding, padding}, bias) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor weight, bias;

 private:
  int64_t in_, out_;
  Pair kernel_, stride_, padding_;
};

// weight [in, out, kh, kw] (PyTorch's layout for the transpose).
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Pair kernel, Pair stride = {1, 1}, Pair padding = {0, 0},
                  Pair output_padding = {0, 0}, bool bias = true);
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
                  int64_t output_padding = 0, bool bias = true)
      : ConvTranspose2d(in_channels, out_channels, Pair{kernel, kernel}, Pair{stride, stride},
                        Pair{padding, padding}, Pair{output_padding, output_padding}, bias) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor weight, bias;

 private:
  int64_t in_, out_;
  Pair kernel_, stride_, padding_, output_padding_;
};

// Batch normalisation over dim 1: BatchNorm1d takes [N, C], BatchNorm2d
// [N, C, H, W]. Parameters weight (gamma, 1s) and bias (beta, 0s) when
// affine; buffers running_mean, running_var, num_batches_tracked.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor weight, bias, running_mean, running_var;
  Tensor num_batches_tracked;  // int64, 0-dim: training-mode forwards so far

 protected:
  BatchNorm(const char* kind, int64_t input_dims, int64_t channels, double eps, double momentum, bool affine);

 private:
  const char* kind_;
  int64_t input_dims_, channels_;
  double eps_, momentum_;
  bool affine_;
};

// Layer normalisation over the last dims (PyTorch's nn.LayerNorm): x [..., *
// normalized_shape]. Parameters weight (1s) and bias (0s) of
// normalized_shape when elementwise_affine; no buffers (the statistics are
// each sample's own, in training and in eval).
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor weight, bias;  // undefined without elementwise_affine

 private:
  Shape normalized_shape_;
  double eps_;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm("BatchNorm1d", 2, features, eps, momentum, affine) {}
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm("BatchNorm2d", 4, channels, eps, momentum, affine) {}
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ReLU()"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : slope_(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  double slope_;
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Sigmoid()"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Tanh()"; }
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int64_t start_, end_;
};

class MaxPool2d : public Module {
 public:
  // stride 0 means "equal to the kernel", PyTorch's default.
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : kernel_(kernel), stride_(stride == 0 ? kernel : stride), padding_(padding) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int64_t kernel_, stride_, padding_;
};

// Inverted dropout in training mode, identity in eval mode. Owns its
// generator, so its masks are reproducible from `seed`.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  double p_;
  Generator generator_;
};

// Children named "0", "1", ... applied in order (PyTorch's nn.Sequential).
class Sequential : public Module {
 public:
  explicit Sequential(std::vector<std::shared_ptr<Module>> layers);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Sequential"; }
  size_t size() const { return layers_.size(); }
  Module& operator[](size_t i) const { return *layers_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

// ---- initialisation ---------------------------------------------------------

// PyTorch's fan_in of a weight: size(1) times the kernel's elements. (For a
// ConvTranspose2d weight [in, out, kh, kw] that is out * kh * kw, as PyTorch
// computes it.)
int64_t fan_in(const Tensor& weight);
// In place, outside the graph: U(low, high) and N(mean, std) from the default
// generator (manual_seed sets it).
void init_uniform(const Tensor& tensor, double low, double high);
void init_normal(const Tensor& tensor, double mean, double std);
void init_constant(const Tensor& tensor, double value);
// The DCGAN paper's initialisation, used by the InfoGAN spec: conv and
// transposed-conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0.
void dcgan_init(Module& module);

}  // namespace dl
