// grad_mode.cpp — the grad-mode switch and FrozenParameters (see grad_mode.h).
#include "graph/grad_mode.h"

#include <utility>

namespace dl {

namespace {
thread_local bool grad_mode_enabled = true;
}

bool grad_enabled() { return grad_mode_enabled; }
EnableGradGuard::EnableGradGuard(bool enabled) : previous_(grad_mode_enabled) { grad_mode_enabled = enabled; }
EnableGradGuard::~EnableGradGuard() { grad_mode_enabled = previous_; }

FrozenParameters::FrozenParameters(std::vector<NamedTensor> params) : params_(std::move(params)) {
  for (NamedTensor& p : params_) p.tensor.set_requires_grad(false);
}
FrozenParameters::~FrozenParameters() {
  for (NamedTensor& p : params_) p.tensor.set_requires_grad(true);
}

}  // namespace dl
