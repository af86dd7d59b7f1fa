// optim.cu — fused optimizer kernels on CUDA: one Adam update of all the
// parameters of an optimizer in two launches, however many there are. The
// tensor-op formulation it replaces launched about a dozen kernels per
// parameter. The step counters live on the device (Backend::adam_step), so
// nothing is read back to the host and the launches can sit in a CUDA graph:
//   1. adam_kernel: every block finds its parameter, reads its counter s,
//      and updates its slice of elements as update number t = s + 1 (the
//      constants of tensor/adam_math.h, computed in the block);
//   2. count_kernel: every counter += 1. A separate launch, because the
//      blocks of kernel 1 must all read the counter before it changes.
#include <algorithm>

#include "tensor/adam_math.h"
#include "tensor/cuda/common.cuh"

namespace dl {

namespace {

constexpr int kAdamSlots = 40;       // parameters per launch (kernel arguments are limited to 4 KiB)
constexpr int64_t kAdamChunk = 4096;  // elements per block

struct AdamSlot {
  float *p, *m, *v;
  const float* g;
  int64_t* step;
  int64_t n;
  int64_t first_block;  // the blocks of this parameter are [first_block, next slot's first_block)
};

struct AdamBatch {
  AdamSlot slot[kAdamSlots];
  int count;
  double lr, beta1, beta2, eps, weight_decay;
  int64_t cosine_steps;
};

__global__ void adam_kernel(AdamBatch batch) {
  int s = 0;
  while (s + 1 < batch.count && batch.slot[s + 1].first_block <= blockIdx.x) ++s;
  const AdamSlot& a = batch.slot[s];
  const AdamConstants<float> c =
      adam_constants<float>(*a.step + 1, batch.lr, batch.cosine_steps, batch.beta1, batch.beta2, batch.eps, batch.weight_decay);
  const int64_t begin = (blockIdx.x - a.first_block) * kAdamChunk;
  const int64_t end = min(a.n, begin + kAdamChunk);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) adam_update(a.p[i], a.g[i], a.m[i], a.v[i], c);
}

__global__ void count_kernel(AdamBatch batch) {
  if (static_cast<int>(threadIdx.x) < batch.count) *batch.slot[threadIdx.x].step += 1;
}

}  // namespace

void CudaBackend::adam_step(const std::vector<AdamParam>& params, const AdamOptions& o) {
  for (const AdamParam& p : params) check_adam_operands(p);
  activate();
  for (size_t first = 0; first < params.size(); first += kAdamSlots) {
    AdamBatch batch{};
    batch.lr = o.lr;
    batch.cosine_steps = o.cosine_steps;
    batch.beta1 = o.beta1;
    batch.beta2 = o.beta2;
    batch.eps = o.eps;
    batch.weight_decay = o.weight_decay;
    int64_t blocks = 0;
    for (size_t i = first; i < std::min(params.size(), first + kAdamSlots); ++i) {
      const AdamParam& p = params[i];
      batch.slot[batch.count++] = {device_data<float>(p.param), device_data<float>(p.exp_avg),
                                   device_data<float>(p.exp_avg_sq), device_data<float>(p.grad),
                                   device_data<int64_t>(p.step), p.param.numel(), blocks};
      blocks += (p.param.numel() + kAdamChunk - 1) / kAdamChunk;
    }
    if (blocks > 0) {
      check(blocks <= 2147483647, "adam_step: too many parameters for one launch");
      adam_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, cuda_stream()>>>(batch);
      DL_CUDA_CHECK(cudaGetLastError());
    }
    count_kernel<<<1, kAdamSlots, 0, cuda_stream()>>>(batch);
    DL_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace dl
