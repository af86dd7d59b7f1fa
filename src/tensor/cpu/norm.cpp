// norm.cpp — batch_norm's fused passes on the CPU (see backend.h):
//   stats:            mean[c] = sum x / M,  var[c] = sum (x - mean[c])^2 / M
//   elemt:            out = (x - mean[c]) * scale[c] + shift[c]  (+ dy * dy_scale[c])
//   backward_reduce:  sum_dy[c] = sum dy,  sum_dy_xmu[c] = sum dy * (x - mean[c])
//   forward_params, backward_params: the per-channel scalars
// The formulas of elemt and of the scalars are tensor/norm_math.h, which the
// CUDA kernels share.
// Each is one pass over its operands (stats two: the mean, then the squared
// deviations, while the channel is still in cache), where the composite
// default makes three to five passes and as many temporaries.
//
// Every operand is viewed as [N, C, L] (L = the product of the dims after
// C); one whose trailing dims do not merge into one stride is copied
// contiguous first. Sums accumulate in double, in 4 interleaved partial sums
// (element i goes to partial i % 4, then ((p0 + p1) + (p2 + p3))), a fixed
// order; channels are split across threads, never one channel's sum, so
// results never depend on the thread count.
// The loops in this file are element-wise: vectorising them changes no
// result (no sum is reordered), so GCC builds them with its loop vectorizer
// (which -O2 alone only runs on loops of known trip count) and without
// trapping math, so that selects such as leaky_relu's x > 0 ? x : x * slope
// become blends rather than unpredictable branches (about 15x faster on
// random signs). Clang vectorises them at -O2 already.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif

#include <algorithm>
#include <functional>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/strided.h"
#include "tensor/cpu/thread_pool.h"
#include "tensor/norm_math.h"

namespace dl {

namespace {

// An operand as [N, C, L] with its strides.
template <typename T>
struct Planes {
  Tensor holder;  // keeps a contiguous copy alive when one was needed
  const T* data;
  int64_t l, n_stride, c_stride, l_stride;
};

template <typename T>
Planes<T> planes(const Tensor& t) {
  const Shape rest(t.shape().begin() + 2, t.shape().end()), rest_strides(t.strides().begin() + 2, t.strides().end());
  const MergedLoop<1> loop = merge_dims<1>(rest, {&rest_strides});
  const int64_t l = shape_numel(rest);
  if (loop.shape.size() == 1) return {t, t.data<T>(), l, t.strides()[0], t.strides()[1], loop.strides[0][0]};
  const Tensor c = t.contiguous();
  return {c, c.data<T>(), l, t.size(1) * l, l, 1};
}

// A [C] tensor's values (it may be strided).
template <typename T>
std::vector<T> channel_values(const Tensor& t) {
  std::vector<T> values(static_cast<size_t>(t.numel()));
  for (int64_t c = 0; c < t.numel(); ++c) values[c] = t.data<T>()[c * t.strides()[0]];
  return values;
}

// sum over i < count of f(i), in the fixed order described at the top.
// One value is its own sum (only a -0 becomes +0, which adding it to a
// running total starting at +0 does anyway): no partial sums for it.
template <typename F>
double sum4(int64_t count, F f) {
  if (count == 1) return f(0);
  double p[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= count; i += 4)
    for (int64_t lane = 0; lane < 4; ++lane) p[lane] += f(i + lane);
  for (; i < count; ++i) p[i % 4] += f(i);
  return (p[0] + p[1]) + (p[2] + p[3]);
}

// fn(first, last) over channel ranges, about kElementwiseGrain values each.
void parallel_channels(const Tensor& x, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t per_channel = std::max<int64_t>(1, x.numel() / std::max<int64_t>(1, x.size(1)));
  parallel_for(0, x.size(1), std::max<int64_t>(1, kElementwiseGrain / per_channel), fn);
}

template <typename T>
void stats_typed(const Tensor& x, const Tensor& mean, const Tensor& var) {
  const Planes<T> px = planes<T>(x);
  const int64_t n = x.size(0), l = px.l;
  const double m = double(n * l);
  parallel_channels(x, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      const T* xc = px.data + c * px.c_stride;
      double total = 0, squares = 0;
      for (int64_t i = 0; i < n; ++i) {
        const T* row = xc + i * px.n_stride;
        total += sum4(l, [&](int64_t j) { return double(row[j * px.l_stride]); });
      }
      const double mu = total / m;
      for (int64_t i = 0; i < n; ++i) {
        const T* row = xc + i * px.n_stride;
        squares += sum4(l, [&](int64_t j) {
          const double d = double(row[j * px.l_stride]) - mu;
          return d * d;
        });
      }
      mean.data<T>()[c] = T(mu);
      var.data<T>()[c] = T(squares / m);
    }
  });
}

template <typename T>
void elemt_typed(const Tensor& x, const Tensor& mean, const Tensor& scale, const Tensor& shift, const Tensor& dy,
                 const Tensor& dy_scale, const Tensor& out) {
  const Planes<T> px = planes<T>(x);
  const Planes<T> pg = dy.defined() ? planes<T>(dy) : px;
  const int64_t channels = x.size(1), l = px.l;
  const std::vector<T> mu = channel_values<T>(mean), a = channel_values<T>(scale), b = channel_values<T>(shift);
  const std::vector<T> g = dy.defined() ? channel_values<T>(dy_scale) : std::vector<T>();
  T* o = out.data<T>();  // contiguous [N, C, L]
  parallel_for(0, x.size(0) * channels, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(l, 1)),
               [&](int64_t first, int64_t last) {
                 // plane = i * channels + c, stepped without a division per plane
                 // (with one value per plane, as after a 1x1 layer, that division
                 // was most of the work).
                 int64_t i = first / channels, c = first % channels;
                 for (int64_t plane = first; plane < last; ++plane, c = c + 1 == channels ? (++i, 0) : c + 1) {
                   const T* xr = px.data + i * px.n_stride + c * px.c_stride;
                   T* dst = o + plane * l;
                   if (g.empty()) {
                     for (int64_t j = 0; j < l; ++j)
                       dst[j] = batch_norm_elemt_at(xr[j * px.l_stride], mu[c], a[c], b[c]);
                   } else {
                     const T* gr = pg.data + i * pg.n_stride + c * pg.c_stride;
                     for (int64_t j = 0; j < l; ++j)
                       dst[j] = batch_norm_elemt_at(xr[j * px.l_stride], mu[c], a[c], b[c], gr[j * pg.l_stride], g[c]);
                   }
                 }
               });
}

template <typename T>
void backward_reduce_typed(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& sum_dy,
                           const Tensor& sum_dy_xmu) {
  const Planes<T> px = planes<T>(x), pg = planes<T>(dy);
  const int64_t n = x.size(0), l = px.l;
  const std::vector<T> mu_values = channel_values<T>(mean);
  parallel_channels(x, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      const double mu = double(mu_values[c]);
      double total = 0, weighted = 0;
      for (int64_t i = 0; i < n; ++i) {
        const T* xr = px.data + i * px.n_stride + c * px.c_stride;
        const T* gr = pg.data + i * pg.n_stride + c * pg.c_stride;
        total += sum4(l, [&](int64_t j) { return double(gr[j * pg.l_stride]); });
        weighted += sum4(l, [&](int64_t j) { return double(gr[j * pg.l_stride]) * (double(xr[j * px.l_stride]) - mu); });
      }
      sum_dy.data<T>()[c] = T(total);
      sum_dy_xmu.data<T>()[c] = T(weighted);
    }
  });
}

// A [C] tensor's data, or null when it is undefined.
template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

void CpuBackend::batch_norm_forward_params(const Tensor& mean, const Tensor& var, const Tensor& weight,
                                           const Tensor& running_mean, const Tensor& running_var, double eps,
                                           double momentum, double count, const Tensor& invstd, const Tensor& scale) {
  check_channel_params("batch_norm_forward_params", {&mean, &var, &weight, &running_mean, &running_var, &invstd, &scale});
  visit_floating(mean.dtype(), "batch_norm_forward_params", [&](auto tag) {
    using T = decltype(tag);
    const BatchNormConstants<T> k = batch_norm_constants<T>(eps, momentum, count);
    for (int64_t c = 0; c < mean.numel(); ++c) {
      batch_norm_forward_at(c, mean.data<T>(), var.data<T>(), data_or_null<T>(weight), data_or_null<T>(running_mean),
                            data_or_null<T>(running_var), k, invstd.data<T>(), scale.data<T>());
    }
  });
}

void CpuBackend::batch_norm_backward_params(const Tensor& sum_dy, const Tensor& sum_dy_xmu, const Tensor& invstd,
                                            const Tensor& scale, double count, const Tensor& sum_dy_xhat,
                                            const Tensor& xmu_coef, const Tensor& const_coef) {
  check_channel_params("batch_norm_backward_params",
                       {&sum_dy, &sum_dy_xmu, &invstd, &scale, &sum_dy_xhat, &xmu_coef, &const_coef});
  visit_floating(sum_dy.dtype(), "batch_norm_backward_params", [&](auto tag) {
    using T = decltype(tag);
    const BatchNormConstants<T> k = batch_norm_constants<T>(0.0, 0.0, count);
    for (int64_t c = 0; c < sum_dy.numel(); ++c) {
      batch_norm_backward_at(c, sum_dy.data<T>(), sum_dy_xmu.data<T>(), invstd.data<T>(), scale.data<T>(), k,
                             sum_dy_xhat.data<T>(), xmu_coef.data<T>(), const_coef.data<T>());
    }
  });
}

void CpuBackend::batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var) {
  visit_floating(x.dtype(), "batch_norm_stats", [&](auto tag) { stats_typed<decltype(tag)>(x, mean, var); });
}

void CpuBackend::batch_norm_elemt(const Tensor& x, const Tensor& mean, const Tensor& scale, const Tensor& shift,
                                  const Tensor& dy, const Tensor& dy_scale, const Tensor& out) {
  visit_floating(x.dtype(), "batch_norm_elemt",
                 [&](auto tag) { elemt_typed<decltype(tag)>(x, mean, scale, shift, dy, dy_scale, out); });
}

void CpuBackend::batch_norm_backward_reduce(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                            const Tensor& sum_dy, const Tensor& sum_dy_xmu) {
  visit_floating(x.dtype(), "batch_norm_backward_reduce",
                 [&](auto tag) { backward_reduce_typed<decltype(tag)>(dy, x, mean, sum_dy, sum_dy_xmu); });
}

}  // namespace dl
