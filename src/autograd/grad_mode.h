// grad_mode.h — the switch that decides whether ops record a graph.
//
// Inside a NoGradGuard scope ops compute values only: no Node is created and
// results do not require grad. Use it for evaluation, for optimizer updates
// and (the engine does this) while running backward functions.
#pragma once

namespace dl {

bool grad_enabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace dl
