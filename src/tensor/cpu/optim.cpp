// optim.cpp — the CPU's fused optimizer kernels: adam_step (see backend.h),
// one pass over the parameter instead of the dozen temporaries of the
// tensor-op formulation, 8 floats at a time where the CPU has AVX2.
#include <type_traits>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

#if defined(__x86_64__) || defined(__i386__)
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2"); }

// adam_update on 8 floats at a time: the same multiplies, adds, divisions
// and square roots in the same order, each rounded on its own (AVX2 without
// FMA, so nothing is contracted), hence the same bits as the scalar loop.
// The scalar loop is bound by its two divisions and square root per element.
__attribute__((target("avx2"))) void adam_update_avx2(float* p, const float* g, float* m, float* v, int64_t count,
                                                      const AdamConstants<float>& c) {
  const __m256 beta1 = _mm256_set1_ps(c.beta1), one_minus_beta1 = _mm256_set1_ps(c.one_minus_beta1);
  const __m256 beta2 = _mm256_set1_ps(c.beta2), one_minus_beta2 = _mm256_set1_ps(c.one_minus_beta2);
  const __m256 weight_decay = _mm256_set1_ps(c.weight_decay), eps = _mm256_set1_ps(c.eps);
  const __m256 bias_correction2_sqrt = _mm256_set1_ps(c.bias_correction2_sqrt);
  const __m256 neg_step_size = _mm256_set1_ps(c.neg_step_size);
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 param = _mm256_loadu_ps(p + i);
    __m256 grad = _mm256_loadu_ps(g + i);
    if (c.decay) grad = _mm256_add_ps(grad, _mm256_mul_ps(param, weight_decay));
    const __m256 exp_avg =
        _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), beta1), _mm256_mul_ps(grad, one_minus_beta1));
    const __m256 exp_avg_sq = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), beta2),
                                            _mm256_mul_ps(_mm256_mul_ps(grad, grad), one_minus_beta2));
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(exp_avg_sq), bias_correction2_sqrt), eps);
    _mm256_storeu_ps(m + i, exp_avg);
    _mm256_storeu_ps(v + i, exp_avg_sq);
    _mm256_storeu_ps(p + i, _mm256_add_ps(param, _mm256_mul_ps(_mm256_div_ps(exp_avg, denom), neg_step_size)));
  }
  for (; i < count; ++i) adam_update(p[i], g[i], m[i], v[i], c);
}
#endif

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
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (std::is_same_v<T, float>) {
      static const bool avx2 = cpu_has_avx2();
      if (avx2) return adam_update_avx2(p + begin, g + begin, m + begin, v + begin, end - begin, c);
    }
#endif
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
               adam_constants<double>(step, o.lr, o.cosine_steps, o.beta1, o.beta2, o.eps, o.weight_decay));
    } else {
      adam_cpu(p.param, p.grad, p.exp_avg, p.exp_avg_sq,
               adam_constants<float>(step, o.lr, o.cosine_steps, o.beta1, o.beta2, o.eps, o.weight_decay));
    }
  }
}

}  // namespace dl
