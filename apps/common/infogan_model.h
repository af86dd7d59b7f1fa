// infogan_model.h — the InfoGAN networks of the lab spec (docs/lab.md,
// "The networks"), with PyTorch's parameter names so that checkpoints load
// into the spec's PyTorch classes:
// the generator's tensors are main.<i>.*, the discriminator's are the shared
// trunk main.<i>.*, the real/fake head D.<i>.* and the code head Q.<i>.*.
#pragma once

#include <memory>

#include "nn/layers.h"

namespace dl {

struct InfoGanShape {
  int64_t noise = 54;   // z ~ N(0, 1) (the spec)
  int64_t n_cat = 10;   // one-hot categorical code
  int64_t n_cont = 0;   // continuous codes ~ U(-1, 1) (the paper uses 2)
  bool uniform_noise = false;  // z ~ U(-1, 1) instead of N(0, 1) (the InfoGAN paper's code)
  int64_t input() const { return noise + n_cat + n_cont; }
};

// n draws of z [n, shape.noise] from the shape's noise distribution.
Tensor draw_noise(const InfoGanShape& shape, int64_t n, Generator& generator);

// [N, noise + n_cat + n_cont, 1, 1] -> images [N, 1, 28, 28] in (0, 1).
class InfoGanGenerator : public Module {
 public:
  explicit InfoGanGenerator(const InfoGanShape& shape = {});
  Tensor forward(const Tensor& z) override { return (*main)(z); }
  std::string describe() const override { return "Generator"; }
  std::shared_ptr<Sequential> main;
};

// The spec's discriminator parts, which InfoGanDiscriminator and the GAN
// family's discriminator (gan_models.h) are built from:
// - the trunk `main`: images [N, in_channels, 28, 28] -> [N, 256, 1, 1]
//   (in_channels 1 in the spec; 2 when a label plane is concatenated);
// - the real/fake head `D`: Conv2d(256, 1, 1) + Sigmoid;
// - the code head `Q`: Conv2d(256, 128, 1) + BN + LeakyReLU(0.1) +
//   Conv2d(128, outputs, 1) (also AC-GAN's class head).
std::shared_ptr<Sequential> spec_discriminator_trunk(int64_t in_channels);
std::shared_ptr<Sequential> spec_real_head();
std::shared_ptr<Sequential> spec_code_head(int64_t outputs);
// Error unless images is [N, channels, 28, 28].
void check_spec_images(const Tensor& images, int64_t channels);

// Images [N, 1, 28, 28] -> the probability that each is real, and Q's
// prediction of the codes that made it.
class InfoGanDiscriminator : public Module {
 public:
  explicit InfoGanDiscriminator(const InfoGanShape& shape = {});
  struct Heads {
    Tensor real;         // [N] D(x), in (0, 1)
    Tensor cat_logits;   // [N, n_cat]
    Tensor cont_mean;    // [N, n_cont]
    Tensor cont_log_std; // [N, n_cont]
  };
  // The trunk runs once and feeds both heads.
  Heads heads(const Tensor& images);
  Tensor forward(const Tensor& images) override { return heads(images).real; }
  std::string describe() const override { return "Discriminator"; }
  std::shared_ptr<Sequential> main, D, Q;

 private:
  InfoGanShape shape_;
};

// The spec's 10 x 10 sample grid input: 10 noise vectors, each repeated for
// the 10 codes (noise = randn(10, noise).repeat_interleave(10, 0), code =
// arange(10).repeat(10)); continuous codes 0. Row r of the grid is style r,
// column c is code c.
Tensor grid_input(const InfoGanShape& shape, Generator& generator);

}  // namespace dl
