// cuda_helpers.h — what the CUDA test files share: whether a GPU is visible
// (GPU cases are decorated with `* doctest::skip(no_gpu())`, so they are
// reported as skipped where there is none), and the parity check that runs
// one computation on the CPU and on CUDA and compares values and gradients.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "dl.h"
#include "doctest/doctest.h"

namespace cuda_test {

inline bool no_gpu() { return dl::cuda_device_count() == 0; }

inline const dl::Device kGpu = dl::Device::cuda(0);

// Seeded float32 N(0, 1) values on the CPU.
inline dl::Tensor randn32(const dl::Shape& shape, uint64_t seed) {
  dl::Generator gen(seed);
  return dl::randn(shape, dl::DType::Float32, &gen);
}

// The criterion: max |gpu - cpu| <= 1e-5 * max(1, max |cpu|), NaN
// matching NaN. Non-floating tensors (indices, masks) must be equal.
inline void check_close(const dl::Tensor& cpu, const dl::Tensor& gpu, const std::string& what) {
  REQUIRE_MESSAGE(gpu.device() == kGpu, what);
  REQUIRE_MESSAGE(cpu.shape() == gpu.shape(), what << ": shapes " << dl::shape_str(cpu.shape()) << " and "
                                                   << dl::shape_str(gpu.shape()));
  REQUIRE_MESSAGE(cpu.dtype() == gpu.dtype(), what);
  const std::vector<double> c = cpu.to_vector<double>(), g = gpu.to_vector<double>();
  double scale = 1.0, worst = 0.0;
  size_t worst_at = 0;
  for (double v : c) {
    if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
  }
  for (size_t i = 0; i < c.size(); ++i) {
    if (std::isnan(c[i]) || std::isnan(g[i])) {
      CHECK_MESSAGE(std::isnan(c[i]) == std::isnan(g[i]), what << ": NaN mismatch at " << i);
      continue;
    }
    const double diff = c[i] == g[i] ? 0.0 : std::abs(c[i] - g[i]);
    if (diff > worst) {
      worst = diff;
      worst_at = i;
    }
  }
  const double tolerance = dl::is_floating(cpu.dtype()) ? 1e-5 * scale : 0.0;
  CHECK_MESSAGE(worst <= tolerance, what << ": max |cuda - cpu| = " << worst << " at element " << worst_at
                                         << " (cpu " << c[worst_at] << ", cuda " << g[worst_at]
                                         << "), tolerance " << tolerance);
}

using Fn = std::function<dl::Tensor(const dl::TensorList&)>;

// Runs f on the CPU inputs and on copies of them on the GPU, compares the
// results and, when the result is differentiable, the gradients of every
// floating input for the same seeded upstream gradient. f may take views
// of its inputs (transposes, slices, expands) to test strided kernels.
inline void check_parity(const std::string& what, const Fn& f, const dl::TensorList& inputs, uint64_t seed = 99) {
  dl::TensorList cpu, gpu;
  for (const dl::Tensor& x : inputs) {
    dl::Tensor c = x.detach().clone(), g = x.detach().to(kGpu);
    if (dl::is_floating(x.dtype())) {
      c.set_requires_grad(true);
      g.set_requires_grad(true);
    }
    cpu.push_back(c);
    gpu.push_back(g);
  }
  const dl::Tensor y_cpu = f(cpu), y_gpu = f(gpu);
  check_close(y_cpu, y_gpu, what + " (value)");
  if (!y_cpu.requires_grad()) return;
  const dl::Tensor dy = randn32(y_cpu.shape(), seed);
  y_cpu.backward(dy);
  y_gpu.backward(dy.to(kGpu));
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!cpu[i].grad().defined()) continue;
    REQUIRE_MESSAGE(gpu[i].grad().defined(), what << ": no CUDA gradient for input " << i);
    check_close(cpu[i].grad(), gpu[i].grad(), what + " (grad of input " + std::to_string(i) + ")");
  }
}

}  // namespace cuda_test
