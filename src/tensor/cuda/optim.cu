// optim.cu — fused optimizer kernels on CUDA: one Adam update of one
// parameter in one launch. The tensor-op formulation it replaces launched
// about a dozen kernels per parameter and read the step counter back from
// the device (a synchronisation per parameter); here the counter lives on
// the host and its scalars are kernel arguments (tensor/adam_math.h).
#include "tensor/adam_math.h"
#include "tensor/cuda/common.cuh"

namespace dl {

namespace {

__global__ void adam_kernel(int64_t n, float* p, const float* g, float* m, float* v, AdamConstants<float> c) {
  for (int64_t i = grid_start(); i < n; i += grid_step()) adam_update(p[i], g[i], m[i], v[i], c);
}

}  // namespace

void CudaBackend::adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                            const Tensor& exp_avg_sq, int64_t step, double lr, double beta1, double beta2, double eps,
                            double weight_decay) {
  check_adam_operands(param, grad, exp_avg, exp_avg_sq, step);
  const int64_t n = param.numel();
  if (n == 0) return;
  activate();
  adam_kernel<<<grid_for(n), kThreads>>>(n, device_data<float>(param), device_data<float>(grad),
                                         device_data<float>(exp_avg), device_data<float>(exp_avg_sq),
                                         adam_constants<float>(step, lr, beta1, beta2, eps, weight_decay));
  DL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace dl
