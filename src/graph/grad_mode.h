// grad_mode.h — the switch that decides whether ops record a graph.
//
// Inside a NoGradGuard scope ops compute values only: no Node is created and
// results do not require grad. Use it for evaluation, for optimizer updates
// and (the engine does this) while running backward functions.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace dl {

bool grad_enabled();

// Sets grad mode to `enabled` for its scope, and back to what it was at the
// end: what the engine runs backward functions under (on with create_graph,
// so they are recorded; off without).
class EnableGradGuard {
 public:
  explicit EnableGradGuard(bool enabled);
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

// Grad mode off for its scope.
class NoGradGuard : public EnableGradGuard {
 public:
  NoGradGuard() : EnableGradGuard(false) {}
};

// Inside a FrozenParameters scope the given leaf parameters do not require
// grad (requires_grad is set back to true at the end, also when an error
// escapes): ops record no gradient for them, so a backward pass that only
// needs to flow *through* a network (a GAN's generator step through the
// discriminator) skips the products for its weight gradients.
class FrozenParameters {
 public:
  explicit FrozenParameters(std::vector<NamedTensor> params);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<NamedTensor> params_;
};

}  // namespace dl
