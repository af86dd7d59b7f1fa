// gan_models.cpp — see gan_models.h.
#include "common/gan_models.h"

#include "ops/ops.h"

namespace dl {

GanDiscriminator::GanDiscriminator(bool label_plane, bool class_head) {
  main = register_module("main", spec_discriminator_trunk(label_plane ? 2 : 1));
  D = register_module("D", spec_real_head());
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
  Heads out;
  out.real = (*D)(trunk).flatten(0);
  if (C) out.class_logits = (*C)(trunk).flatten(1);
  return out;
}

}  // namespace dl
