// spec_networks.h — the networks of the lab spec (docs/lab.md, "The
// networks"), and the ones the other apps build from its parts, with
// PyTorch's parameter names so that checkpoints load into the spec's PyTorch
// classes:
//   SpecGenerator         the spec's generator, main.<i>.*: InfoGAN's and the
//                         GAN family's G, and the VAE's decoder
//   InfoGanDiscriminator  the spec's discriminator: the shared trunk
//                         main.<i>.*, the real/fake head D.<i>.* and the code
//                         head Q.<i>.*
//   GanDiscriminator      the GAN family's discriminator (below)
#pragma once

#include <memory>

#include "nn/layers.h"

namespace dl {

// The generator's input, in order: noise, a one-hot categorical code and
// continuous codes. InfoGAN uses all three; the GAN family feeds noise (and
// the one-hot label) and the VAE its latent as {input, 0, 0}.
struct LatentShape {
  int64_t noise = 54;   // z ~ N(0, 1) (the spec)
  int64_t n_cat = 10;   // one-hot categorical code
  int64_t n_cont = 0;   // continuous codes ~ U(-1, 1) (the paper uses 2)
  bool uniform_noise = false;  // z ~ U(-1, 1) instead of N(0, 1) (the InfoGAN paper's code)
  int64_t input() const { return noise + n_cat + n_cont; }
};

// n draws of z [n, shape.noise] from the shape's noise distribution.
Tensor draw_noise(const LatentShape& shape, int64_t n, Generator& generator);

// [N, noise + n_cat + n_cont, 1, 1] -> images [N, 1, 28, 28] in (0, 1).
// InfoGAN's G, the GAN family's G and the VAE's decoder.
class SpecGenerator : public Module {
 public:
  explicit SpecGenerator(const LatentShape& shape = {});
  Tensor forward(const Tensor& z) override { return (*main)(z); }
  std::string describe() const override { return "Generator"; }
  std::shared_ptr<Sequential> main;
};

// The spec's discriminator parts, which InfoGanDiscriminator and
// GanDiscriminator (below) are built from:
// - the trunk `main`: images [N, in_channels, 28, 28] -> [N, 256, 1, 1]
//   (in_channels 1 in the spec; 2 when a label plane is concatenated);
//   TrunkNorm::Layer puts LayerNorm over each sample's [C, H, W] where the
//   spec has BatchNorm, for a WGAN-GP critic: its gradient penalty is per
//   sample, which batch statistics would couple (Gulrajani et al. 2017);
// - the real/fake head `D`: Conv2d(256, 1, 1) + Sigmoid, or without the
//   Sigmoid for a critic, whose score is unbounded;
// - the code head `Q`: Conv2d(256, 128, 1) + BN + LeakyReLU(0.1) +
//   Conv2d(128, outputs, 1) (also AC-GAN's class head).
enum class TrunkNorm { Batch, Layer };
std::shared_ptr<Sequential> spec_discriminator_trunk(int64_t in_channels, TrunkNorm norm = TrunkNorm::Batch);
std::shared_ptr<Sequential> spec_real_head(bool sigmoid = true);
// The real/fake head's output before its Sigmoid ([N]; the critic's score),
// and after it (undefined for a head without one).
struct RealHeadOutput {
  Tensor logit, probability;
};
RealHeadOutput run_real_head(const Sequential& head, const Tensor& trunk);
std::shared_ptr<Sequential> spec_code_head(int64_t outputs);
// Error unless images is [N, channels, 28, 28].
void check_spec_images(const Tensor& images, int64_t channels);

// Images [N, 1, 28, 28] -> the probability that each is real, and Q's
// prediction of the codes that made it.
class InfoGanDiscriminator : public Module {
 public:
  explicit InfoGanDiscriminator(const LatentShape& shape = {});
  struct Heads {
    Tensor real;         // [N] D(x), in (0, 1)
    Tensor logit;        // [N] before the Sigmoid: D(x) = sigmoid(logit)
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
  LatentShape shape_;
};

// The spec's 10 x 10 sample grid input: 10 noise vectors, each repeated for
// the 10 codes (noise = randn(10, noise).repeat_interleave(10, 0), code =
// arange(10).repeat(10)); continuous codes 0. Row r of the grid is style r,
// column c is code c.
Tensor grid_input(const LatentShape& shape, Generator& generator);

// ---- the GAN family's discriminator ----------------------------------------------
// The discriminator of apps/dcgan, apps/cgan and apps/acgan (gan_family.h).
// It is the spec's discriminator (built from the same parts as
// InfoGanDiscriminator) with what each variant adds:
//
//   dcgan:  main.* (trunk), D.* (real/fake head)                 — no Q head
//   cgan:   label.* Linear(10, 784): the one-hot label projected to a
//           28x28 plane and concatenated to the image as a second channel,
//           so the trunk's first conv takes 2 channels; then main.*, D.*
//   acgan:  main.*, D.*, and C.*: a class head with the Q head's layers and
//           10 logits (D also predicts the class)
//   wgan:   a critic: main.* with LayerNorm for BatchNorm (TrunkNorm::Layer),
//           D.* without the Sigmoid — an unbounded score
//
// The family's generators are SpecGenerators with input 64: noise 64
// (dcgan), or noise 54 + the one-hot label (cgan, acgan).
class GanDiscriminator : public Module {
 public:
  static constexpr int64_t kClasses = 10;
  GanDiscriminator(bool label_plane, bool class_head, bool critic = false);

  struct Heads {
    Tensor real;          // [N] D(x), in (0, 1); undefined for a critic
    Tensor logit;         // [N] before the Sigmoid: the critic's score
    Tensor class_logits;  // [N, 10] with the class head; undefined without
  };
  // images [N, 1, 28, 28]; labels: float one-hot [N, 10] on the same device
  // (needed with the label plane, ignored without).
  Heads heads(const Tensor& images, const Tensor& labels);
  Tensor forward(const Tensor& images) override { return heads(images, Tensor()).real; }
  std::string describe() const override { return critic_ ? "Critic" : "Discriminator"; }

  bool label_plane() const { return label != nullptr; }
  bool class_head() const { return C != nullptr; }

  std::shared_ptr<Sequential> main, D, C;  // C: null without the class head
  std::shared_ptr<Linear> label;           // null without the label plane

 private:
  bool critic_ = false;
};

}  // namespace dl
