// spec_networks.cpp — see spec_networks.h. The layer lists are the spec's,
// index for index: the indices are the parameter names.
#include "common/spec_networks.h"

#include "ops/ops.h"

namespace dl {

namespace {
std::shared_ptr<Module> layer(std::shared_ptr<Module> module) { return module; }
}  // namespace

SpecGenerator::SpecGenerator(const LatentShape& shape) {
  main = register_module(
      "main", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                  layer(std::make_shared<ConvTranspose2d>(shape.input(), 512, 1, 1, 0, 0, false)),  // 512x1x1
                  layer(std::make_shared<BatchNorm2d>(512)), layer(std::make_shared<LeakyReLU>(0.01)),
                  layer(std::make_shared<ConvTranspose2d>(512, 256, 4, 1, 0, 0, false)),  // 256x4x4
                  layer(std::make_shared<BatchNorm2d>(256)), layer(std::make_shared<LeakyReLU>(0.01)),
                  layer(std::make_shared<ConvTranspose2d>(256, 128, 5, 2, 2, 0, false)),  // 128x7x7
                  layer(std::make_shared<BatchNorm2d>(128)), layer(std::make_shared<LeakyReLU>(0.01)),
                  layer(std::make_shared<ConvTranspose2d>(128, 64, 2, 2, 0, 0, false)),  // 64x14x14
                  layer(std::make_shared<BatchNorm2d>(64)), layer(std::make_shared<LeakyReLU>(0.01)),
                  layer(std::make_shared<ConvTranspose2d>(64, 1, 2, 2, 0, 0, false)),  // 1x28x28
                  layer(std::make_shared<Sigmoid>())}));
}

std::shared_ptr<Sequential> spec_discriminator_trunk(int64_t in_channels, TrunkNorm norm) {
  // BatchNorm over the channels, or LayerNorm over each sample's [C, H, W].
  auto normalization = [norm](int64_t channels, int64_t size) -> std::shared_ptr<Module> {
    if (norm == TrunkNorm::Batch) return std::make_shared<BatchNorm2d>(channels);
    return std::make_shared<LayerNorm>(Shape{channels, size, size});
  };
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      layer(std::make_shared<Conv2d>(in_channels, 64, 4, 2, 1, false)), layer(std::make_shared<LeakyReLU>(0.1)),  // 64x14x14
      layer(std::make_shared<Conv2d>(64, 128, 4, 2, 1, false)),  // 128x7x7
      normalization(128, 7), layer(std::make_shared<LeakyReLU>(0.1)),
      layer(std::make_shared<Conv2d>(128, 256, 7, 1, 0, false)),  // 256x1x1
      normalization(256, 1), layer(std::make_shared<LeakyReLU>(0.1))});
}

std::shared_ptr<Sequential> spec_real_head(bool sigmoid) {
  std::vector<std::shared_ptr<Module>> layers = {layer(std::make_shared<Conv2d>(256, 1, 1))};
  if (sigmoid) layers.push_back(std::make_shared<Sigmoid>());
  return std::make_shared<Sequential>(layers);
}

RealHeadOutput run_real_head(const Sequential& head, const Tensor& trunk) {
  RealHeadOutput out;
  out.logit = head[0](trunk).flatten(0);  // [N, 1, 1, 1] -> [N]
  if (head.size() > 1) out.probability = head[1](out.logit);
  return out;
}

std::shared_ptr<Sequential> spec_code_head(int64_t outputs) {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      layer(std::make_shared<Conv2d>(256, 128, 1, 1, 0, false)), layer(std::make_shared<BatchNorm2d>(128)),
      layer(std::make_shared<LeakyReLU>(0.1)), layer(std::make_shared<Conv2d>(128, outputs, 1))});
}

void check_spec_images(const Tensor& images, int64_t channels) {
  check(images.dim() == 4 && images.size(1) == channels && images.size(2) == 28 && images.size(3) == 28,
        "Discriminator: expected images [N, ", channels, ", 28, 28], got ", images.shape());
}

InfoGanDiscriminator::InfoGanDiscriminator(const LatentShape& shape) : shape_(shape) {
  main = register_module("main", spec_discriminator_trunk(1));
  D = register_module("D", spec_real_head());
  Q = register_module("Q", spec_code_head(shape.n_cat + 2 * shape.n_cont));
}

InfoGanDiscriminator::Heads InfoGanDiscriminator::heads(const Tensor& images) {
  check_spec_images(images, 1);
  const Tensor trunk = (*main)(images);           // [N, 256, 1, 1]
  const Tensor q = (*Q)(trunk).flatten(1);        // [N, n_cat + 2 n_cont]
  const RealHeadOutput real = run_real_head(*D, trunk);
  Heads out;
  out.real = real.probability;
  out.logit = real.logit;
  out.cat_logits = q.narrow(1, 0, shape_.n_cat);  // then the means, then the log-stds
  out.cont_mean = q.narrow(1, shape_.n_cat, shape_.n_cont);
  out.cont_log_std = q.narrow(1, shape_.n_cat + shape_.n_cont, shape_.n_cont);
  return out;
}

Tensor draw_noise(const LatentShape& shape, int64_t n, Generator& generator) {
  return shape.uniform_noise ? uniform({n, shape.noise}, -1.0, 1.0, DType::Float32, &generator)
                             : randn({n, shape.noise}, DType::Float32, &generator);
}

Tensor grid_input(const LatentShape& shape, Generator& generator) {
  check(shape.n_cat == 10, "grid_input: the 10 x 10 grid needs 10 categorical codes, got ", shape.n_cat);
  const Tensor noise = draw_noise(shape, 10, generator)
                           .unsqueeze(1)
                           .expand({10, 10, shape.noise})
                           .reshape({100, shape.noise});  // row r repeated for every code
  const Tensor codes = arange(10).unsqueeze(0).expand({10, 10}).reshape({100});  // 0..9, 0..9, ...
  const Tensor code = one_hot(codes, shape.n_cat).to(DType::Float32);
  const Tensor cont = zeros({100, shape.n_cont});
  return cat({noise, code, cont}, 1).reshape({100, shape.input(), 1, 1});
}

GanDiscriminator::GanDiscriminator(bool label_plane, bool class_head, bool critic) : critic_(critic) {
  main = register_module("main", spec_discriminator_trunk(label_plane ? 2 : 1, critic ? TrunkNorm::Layer : TrunkNorm::Batch));
  D = register_module("D", spec_real_head(!critic));
  if (class_head) C = register_module("C", spec_code_head(kClasses));
  if (label_plane) label = register_module("label", std::make_shared<Linear>(kClasses, 28 * 28));
}

GanDiscriminator::Heads GanDiscriminator::heads(const Tensor& images, const Tensor& labels) {
  check_spec_images(images, 1);
  Tensor input = images;
  if (label) {
    check(labels.defined() && labels.dim() == 2 && labels.size(0) == images.size(0) && labels.size(1) == kClasses,
          "Discriminator: the label plane needs one-hot labels [", images.size(0), ", ", kClasses, "]");
    input = cat({images, (*label)(labels).reshape({images.size(0), 1, 28, 28})}, 1);
  }
  const Tensor trunk = (*main)(input);  // [N, 256, 1, 1]
  const RealHeadOutput real = run_real_head(*D, trunk);
  Heads out;
  out.real = real.probability;
  out.logit = real.logit;
  if (C) out.class_logits = (*C)(trunk).flatten(1);
  return out;
}

}  // namespace dl
