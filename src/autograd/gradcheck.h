// gradcheck.h — compare autograd's gradients with finite differences, and
// (gradgradcheck) its gradients of gradients too.
//
// For f: inputs -> output, the Jacobian entry J[o][e] = d output[o] / d input[e]
// is computed twice:
//   analytic: backward() from output element o (gradient one-hot at o);
//   numeric:  central difference (f(x + eps) - f(x - eps)) / (2 eps) at e.
// Every entry must satisfy |analytic - numeric| <= atol + rtol * |numeric|.
// Use float64 inputs: float32 rounding would swamp the differences.
#pragma once

#include <functional>
#include <string>

#include "graph/node.h"

namespace dl {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-7;
  double rtol = 1e-6;
};

struct GradcheckResult {
  bool passed = true;
  double max_abs_error = 0;  // worst |analytic - numeric| over all entries
  double max_rel_error = 0;  // worst |analytic - numeric| / |numeric| (numeric != 0)
  // The entry that failed by the widest margin (or came closest to failing):
  size_t input = 0;        // which input
  int64_t element = 0;     // row-major index into that input
  int64_t output = 0;      // row-major index into the output
  double analytic = 0, numeric = 0;
  std::string str() const;  // one line, for test failure messages
};

// `inputs` must be float64 leaves; those that require grad are checked.
// `fn` must be deterministic. The inputs' values are restored afterwards and
// their .grad left as it was.
GradcheckResult gradcheck(const std::function<Tensor(const TensorList&)>& fn, const TensorList& inputs,
                          const GradcheckOptions& options = {});

// The second derivatives, as PyTorch's gradgradcheck: for a fixed random v
// (float64 N(0, 1) of the output's shape, from `seed`), the vector-Jacobian
// product
//   g(inputs) = J(inputs)^T v = grad(fn(inputs), inputs, v, create_graph)
// is itself a function of the inputs, and gradcheck checks it: its
// analytic Jacobian is the double backward (the recorded first-order
// backward, differentiated), its numeric one central differences of g.
// The same requirements on `inputs` and `fn` as gradcheck.
GradcheckResult gradgradcheck(const std::function<Tensor(const TensorList&)>& fn, const TensorList& inputs,
                              const GradcheckOptions& options = {}, uint64_t seed = 0);

}  // namespace dl
