// gan_models.h — the discriminator of the GAN family (apps/dcgan, apps/cgan,
// apps/acgan; see gan_family.h). It is the spec's discriminator (docs/lab.md,
// "The networks"; built from the same parts as InfoGanDiscriminator) with
// what each variant adds:
//
//   dcgan:  main.* (trunk), D.* (real/fake head)                 — no Q head
//   cgan:   label.* Linear(10, 784): the one-hot label projected to a
//           28x28 plane and concatenated to the image as a second channel,
//           so the trunk's first conv takes 2 channels; then main.*, D.*
//   acgan:  main.*, D.*, and C.*: a class head with the Q head's layers and
//           10 logits (D also predicts the class)
//
// The generators are the spec's InfoGanGenerator with input 64: noise 64
// (dcgan), or noise 54 + the one-hot label (cgan, acgan).
#pragma once

#include <memory>

#include "common/infogan_model.h"

namespace dl {

class GanDiscriminator : public Module {
 public:
  static constexpr int64_t kClasses = 10;
  GanDiscriminator(bool label_plane, bool class_head);

  struct Heads {
    Tensor real;          // [N] D(x), in (0, 1)
    Tensor class_logits;  // [N, 10] with the class head; undefined without
  };
  // images [N, 1, 28, 28]; labels: float one-hot [N, 10] on the same device
  // (needed with the label plane, ignored without).
  Heads heads(const Tensor& images, const Tensor& labels);
  Tensor forward(const Tensor& images) override { return heads(images, Tensor()).real; }
  std::string describe() const override { return "Discriminator"; }

  bool label_plane() const { return label != nullptr; }
  bool class_head() const { return C != nullptr; }

  std::shared_ptr<Sequential> main, D, C;  // C: null without the class head
  std::shared_ptr<Linear> label;           // null without the label plane
};

}  // namespace dl
