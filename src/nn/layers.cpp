// layers.cpp — see layers.h. Each forward is one call into ops/ops.h; the
// math and the backward of every layer live with its op (ops/conv.cpp,
// ops/norm.cpp, ...).
#include "nn/layers.h"

#include <cmath>
#include <sstream>

#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

namespace {

std::string pair_str(Pair p) { return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")"; }

// PyTorch's reset_parameters for Linear and the convolutions:
// kaiming_uniform_(a = sqrt(5)) gives bound = gain * sqrt(3 / fan_in) with
// gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), i.e. bound = 1 / sqrt(fan_in); the
// bias uses the same bound.
void reset_like_pytorch(const Tensor& weight, const Tensor& bias) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight)));
  init_uniform(weight, -bound, bound);
  if (bias.defined()) init_uniform(bias, -bound, bound);
}

void check_channels(const char* layer, const Tensor& x, int64_t dims, int64_t channels) {
  check(x.dim() == dims && x.size(1) == channels, layer, ": expected input [N, ", channels,
        dims == 4 ? ", H, W]" : "]", ", got ", x.shape());
}

}  // namespace

// ---- Linear -------------------------------------------------------------------

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias) : in_(in_features), out_(out_features) {
  weight = register_parameter("weight", Tensor::empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", Tensor::empty({out_features}));
  reset_like_pytorch(weight, bias);
}

Tensor Linear::forward(const Tensor& x) {
  check(x.dim() >= 1 && x.size(-1) == in_, "Linear: expected input [..., ", in_, "], got ", x.shape());
  const Tensor y = matmul(x, weight.t());
  return bias.defined() ? y + bias : y;
}

std::string Linear::describe() const {
  return "Linear(in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
         ", bias=" + (bias.defined() ? "True" : "False") + ")";
}

// ---- convolutions ---------------------------------------------------------------

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel, Pair stride, Pair padding, bool with_bias)
    : in_(in_channels), out_(out_channels), kernel_(kernel), stride_(stride), padding_(padding) {
  weight = register_parameter("weight", Tensor::empty({out_channels, in_channels, kernel[0], kernel[1]}));
  if (with_bias) bias = register_parameter("bias", Tensor::empty({out_channels}));
  reset_like_pytorch(weight, bias);
}

Tensor Conv2d::forward(const Tensor& x) {
  check_channels("Conv2d", x, 4, in_);
  return conv2d(x, weight, bias, stride_, padding_);
}

std::string Conv2d::describe() const {
  std::string s = "Conv2d(" + std::to_string(in_) + ", " + std::to_string(out_) + ", kernel_size=" +
                  pair_str(kernel_) + ", stride=" + pair_str(stride_);
  if (padding_ != Pair{0, 0}) s += ", padding=" + pair_str(padding_);
  return s + (bias.defined() ? ")" : ", bias=False)");
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, Pair kernel, Pair stride, Pair padding,
                                 Pair output_padding, bool with_bias)
    : in_(in_channels),
      out_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding),
      output_padding_(output_padding) {
  weight = register_parameter("weight", Tensor::empty({in_channels, out_channels, kernel[0], kernel[1]}));
  if (with_bias) bias = register_parameter("bias", Tensor::empty({out_channels}));
  reset_like_pytorch(weight, bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_channels("ConvTranspose2d", x, 4, in_);
  return conv_transpose2d(x, weight, bias, stride_, padding_, output_padding_);
}

std::string ConvTranspose2d::describe() const {
  std::string s = "ConvTranspose2d(" + std::to_string(in_) + ", " + std::to_string(out_) + ", kernel_size=" +
                  pair_str(kernel_) + ", stride=" + pair_str(stride_);
  if (padding_ != Pair{0, 0}) s += ", padding=" + pair_str(padding_);
  if (output_padding_ != Pair{0, 0}) s += ", output_padding=" + pair_str(output_padding_);
  return s + (bias.defined() ? ")" : ", bias=False)");
}

// ---- BatchNorm ----------------------------------------------------------------

BatchNorm::BatchNorm(const char* kind, int64_t input_dims, int64_t channels, double eps, double momentum, bool affine)
    : kind_(kind), input_dims_(input_dims), channels_(channels), eps_(eps), momentum_(momentum), affine_(affine) {
  if (affine) {
    weight = register_parameter("weight", ones({channels}));
    bias = register_parameter("bias", zeros({channels}));
  }
  running_mean = register_buffer("running_mean", zeros({channels}));
  running_var = register_buffer("running_var", ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
}

Tensor BatchNorm::forward(const Tensor& x) {
  check_channels(kind_, x, input_dims_, channels_);
  if (training()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(ones({}, DType::Int64, num_batches_tracked.device()));
  }
  return batch_norm(x, running_mean, running_var, weight, bias, training(), momentum_, eps_);
}

std::string BatchNorm::describe() const {
  std::ostringstream s;
  s << kind_ << "(" << channels_ << ", eps=" << eps_ << ", momentum=" << momentum_
    << ", affine=" << (affine_ ? "True" : "False") << ", track_running_stats=True)";
  return s.str();
}

// ---- LayerNorm ----------------------------------------------------------------

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  check(!normalized_shape_.empty(), "LayerNorm: normalized_shape must not be empty");
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape_));
    bias = register_parameter("bias", zeros(normalized_shape_));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape_, weight, bias, eps_); }

std::string LayerNorm::describe() const {
  std::ostringstream s;
  s << "LayerNorm((";  // the shape as a Python tuple: (5,) or (4, 5)
  for (size_t i = 0; i < normalized_shape_.size(); ++i) s << (i > 0 ? ", " : "") << normalized_shape_[i];
  s << (normalized_shape_.size() == 1 ? ",)" : ")") << ", eps=" << eps_ << ", elementwise_affine=" << (weight.defined() ? "True" : "False") << ")";
  return s.str();
}

// ---- activations and shape layers -------------------------------------------

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

std::string LeakyReLU::describe() const {
  std::ostringstream s;
  s << "LeakyReLU(negative_slope=" << slope_ << ")";
  return s.str();
}

Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_, end_); }

std::string Flatten::describe() const {
  return "Flatten(start_dim=" + std::to_string(start_) + ", end_dim=" + std::to_string(end_) + ")";
}

Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, {kernel_, kernel_}, {stride_, stride_}, {padding_, padding_});
}

std::string MaxPool2d::describe() const {
  return "MaxPool2d(kernel_size=" + std::to_string(kernel_) + ", stride=" + std::to_string(stride_) +
         ", padding=" + std::to_string(padding_) + ", dilation=1, ceil_mode=False)";
}

Dropout::Dropout(double p, uint64_t seed) : p_(p), generator_(seed) {
  check(p >= 0.0 && p <= 1.0, "Dropout: p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, training(), &generator_); }

std::string Dropout::describe() const {
  std::ostringstream s;
  s << "Dropout(p=" << p_ << ", inplace=False)";
  return s.str();
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> layers) : layers_(std::move(layers)) {
  for (size_t i = 0; i < layers_.size(); ++i) register_module(std::to_string(i), layers_[i]);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& layer : layers_) y = layer->forward(y);
  return y;
}

// ---- initialisation -------------------------------------------------------------

int64_t fan_in(const Tensor& weight) {
  check(weight.dim() >= 2, "fan_in: expected a weight with at least 2 dims, got ", weight.shape());
  int64_t receptive_field = 1;
  for (int64_t d = 2; d < weight.dim(); ++d) receptive_field *= weight.size(d);
  return weight.size(1) * receptive_field;
}

void init_uniform(const Tensor& tensor, double low, double high) {
  NoGradGuard no_grad;
  Tensor target = tensor;
  target.copy_(uniform(tensor.shape(), low, high, tensor.dtype(), nullptr, tensor.device()));
}

void init_normal(const Tensor& tensor, double mean, double std) {
  NoGradGuard no_grad;
  Tensor target = tensor;
  target.copy_(randn(tensor.shape(), tensor.dtype(), nullptr, tensor.device()) * std + mean);
}

void init_constant(const Tensor& tensor, double value) {
  NoGradGuard no_grad;
  Tensor target = tensor;
  target.fill_(value);
}

void dcgan_init(Module& module) {
  module.apply([](Module& m) {
    if (auto* conv = dynamic_cast<Conv2d*>(&m)) init_normal(conv->weight, 0.0, 0.02);
    if (auto* deconv = dynamic_cast<ConvTranspose2d*>(&m)) init_normal(deconv->weight, 0.0, 0.02);
    if (auto* bn = dynamic_cast<BatchNorm*>(&m); bn && bn->weight.defined()) {
      init_normal(bn->weight, 1.0, 0.02);
      init_constant(bn->bias, 0.0);
    }
  });
}

}  // namespace dl
