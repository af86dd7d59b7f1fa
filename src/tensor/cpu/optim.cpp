// optim.cpp — the CPU's fused optimizer kernels: adam_step (see backend.h),
// one pass over the parameter instead of the dozen temporaries of the
// tensor-op formulation.
#include <utility>

#include "tensor/adam_math.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/thread_pool.h"

namespace dl {

void check_adam_operands(const Backend::AdamParam& p) {
  const Tensor& param = p.param;
  check(is_floating(param.dtype()), "adam_step: param must be float32 or float64, got ", param.dtype());
  const std::pair<const char*, const Tensor*> operands[] = {
      {"param", &param}, {"grad", &p.grad}, {"exp_avg", &p.exp_avg}, {"exp_avg_sq", &p.exp_avg_sq}};
  for (const auto& [name, t] : operands) {
    check(t->dtype() == param.dtype() && t->is_contiguous() && t->shape() == param.shape() &&
              t->device() == param.device(),
          "adam_step: ", name, " must be a contiguous ", param.dtype(), " tensor ", param.shape(), " on ",
          param.device(), ", got ", t->dtype(), " ", t->shape(), t->is_contiguous() ? "" : " (strided)", " on ",
          t->device());
  }
  check(p.step.dtype() == DType::Int64 && p.step.dim() == 0 && p.step.device() == param.device(),
        "adam_step: step must be a 0-dim int64 tensor on ", param.device(), ", got ", p.step.dtype(), " ",
        p.step.shape(), " on ", p.step.device());
}

namespace {

template <typename T>
void adam_cpu(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
              const AdamConstants<T>& c) {
  T* p = param.data<T>();
  const T* g = grad.data<T>();
  T* m = exp_avg.data<T>();
  T* v = exp_avg_sq.data<T>();
  // Every element is updated on its own: the split across threads never
  // changes a result.
  parallel_for(0, param.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) adam_update(p[i], g[i], m[i], v[i], c);
  });
}

}  // namespace

void CpuBackend::adam_step(const std::vector<AdamParam>& params, const AdamOptions& o) {
  for (const AdamParam& p : params) check_adam_operands(p);
  for (const AdamParam& p : params) {
    const int64_t step = ++*p.step.data<int64_t>();
    if (p.param.dtype() == DType::Float64) {
      adam_cpu(p.param, p.grad, p.exp_avg, p.exp_avg_sq,
               adam_constants<double>(step, o.lr, o.beta1, o.beta2, o.eps, o.weight_decay));
    } else {
      adam_cpu(p.param, p.grad, p.exp_avg, p.exp_avg_sq,
               adam_constants<float>(step, o.lr, o.beta1, o.beta2, o.eps, o.weight_decay));
    }
  }
}

}  // namespace dl
