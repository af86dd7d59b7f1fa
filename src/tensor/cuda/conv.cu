// conv.cu — the CUDA kernels behind conv2d, conv_transpose2d and max_pool2d
// (ops/conv.cpp): im2col, its adjoint col2im, and max pooling. The index
// conventions are those of cpu/conv.cpp:
//   OH = (H + 2 ph - kh) / sh + 1,  OW likewise,  L = OH * OW,
//   cols[n, (c*kh + i)*kw + j, oh*OW + ow] = x[n, c, oh*sh - ph + i, ow*sw - pw + j]  (0 in the padding).
//
// im2col: one thread per window position copies its kh*kw taps. col2im, a
// scatter on the CPU, is written here as a gather: one thread per image
// pixel sums what lands on it. No atomics, so the result is deterministic,
// and the terms are added in the CPU's order, so it is bit-identical too:
// pixel (ih, iw) receives
//   cols[.., (c*kh + i)*kw + j, oh*OW + ow]
// for every (i, j) with oh = (ih + ph - i) / sh and ow = (iw + pw - j) / sw
// whole and in range, in (i, j) order.
// The max-pool backward gets no window geometry (backend.h), only the
// argmax indices, so it scatters: one thread per output adds dy into dx at
// its index with atomicAdd. A pixel hit by several overlapping windows then
// sums in an unspecified order (float rounding may differ from the CPU in
// the last bit); with stride >= kernel, the usual case, each pixel gets at
// most one term and the result is exact.
#include <algorithm>

#include "tensor/cuda/common.cuh"
#include "tensor/conv_geometry.h"

namespace dl {

namespace {

// The convolution geometry, passed to kernels by value.
struct Geometry {
  int64_t n, c, h, w;    // image
  int64_t kh, kw;        // kernel
  int64_t sh, sw;        // stride
  int64_t ph, pw;        // padding
  int64_t oh, ow;        // windows
};

Geometry geometry(const Shape& image, Pair k, Pair s, Pair p) {
  return {image[0], image[1], image[2], image[3], k[0], k[1], s[0], s[1], p[0], p[1],
          conv_out_size(image[2], k[0], s[0], p[0]), conv_out_size(image[3], k[1], s[1], p[1])};
}

struct Strides4 {
  int64_t n, c, h, w;
};

Strides4 strides4(const Tensor& t) { return {t.strides()[0], t.strides()[1], t.strides()[2], t.strides()[3]}; }

// The divisions of the index arithmetic are most of these kernels' work, so
// they are done once per thread and in I: int32 when every index fits (the
// usual case; a 32-bit division is several times cheaper than a 64-bit one),
// else int64. Addresses are always computed in int64.

// One thread per (n, c, window l): it writes the kh*kw rows of cols that
// channel c contributes at column l. For each tap, neighbouring threads
// write neighbouring columns, so the stores coalesce.
template <typename I>
__global__ void im2col_kernel(Geometry geo, const float* x, Strides4 xs, float* cols) {
  const I kh = I(geo.kh), kw = I(geo.kw), ow = I(geo.ow), channels = I(geo.c);
  const I length = I(geo.oh) * ow, total = I(geo.n) * channels * length;
  for (I e = I(grid_start()); e < total; e += I(grid_step())) {
    const I l = e % length, nc = e / length;  // nc = n * C + c
    const I n = nc / channels, c = nc - n * channels;
    const I top = (l / ow) * I(geo.sh) - I(geo.ph), left = (l % ow) * I(geo.sw) - I(geo.pw);
    const float* plane = x + int64_t(n) * xs.n + int64_t(c) * xs.c;
    float* out = cols + int64_t(nc) * kh * kw * length + l;  // row (c*kh + i)*kw + j of image n
    for (I i = 0; i < kh; ++i) {
      const I ih = top + i;
      for (I j = 0; j < kw; ++j) {
        const I iw = left + j;
        const bool inside = ih >= 0 && ih < I(geo.h) && iw >= 0 && iw < I(geo.w);
        out[int64_t(i * kw + j) * length] = inside ? plane[int64_t(ih) * xs.h + int64_t(iw) * xs.w] : 0.0f;
      }
    }
  }
}

// One thread per image pixel of the contiguous out [N, C, H, W]. Row ih is
// tap i of window oh when ih + ph - i = oh * sh, so only the taps
// i = (ih + ph) mod sh, + sh, ... can land on it (and likewise for columns).
template <typename I>
__global__ void col2im_kernel(Geometry geo, const float* cols, Strides4 cs, float* out) {
  const I h = I(geo.h), w = I(geo.w), c_count = I(geo.c), kh = I(geo.kh), kw = I(geo.kw);
  const I sh = I(geo.sh), sw = I(geo.sw), oh = I(geo.oh), ow = I(geo.ow);
  const I total = I(geo.n) * c_count * h * w;
  for (I e = I(grid_start()); e < total; e += I(grid_step())) {
    const I iw = e % w, ih = (e / w) % h, nc = e / (w * h);
    const I n = nc / c_count, c = nc - n * c_count;
    const float* image = cols + int64_t(n) * cs.n;
    float sum = 0.0f;
    for (I i = (ih + I(geo.ph)) % sh; i < kh; i += sh) {
      const I top = ih + I(geo.ph) - i;  // = oh_index * sh
      if (top < 0) break;                // larger i only go further up
      const I row_window = top / sh;
      if (row_window >= oh) continue;
      for (I j = (iw + I(geo.pw)) % sw; j < kw; j += sw) {
        const I left = iw + I(geo.pw) - j;
        if (left < 0) break;
        const I col_window = left / sw;
        if (col_window >= ow) continue;
        const I row = (c * kh + i) * kw + j, l = row_window * ow + col_window;
        sum += image[int64_t(row) * cs.c + int64_t(l) * cs.h];
      }
    }
    out[e] = sum;
  }
}

// Whether every index of a conv kernel over `elements` fits in int32.
bool fits_int32(int64_t elements) { return elements < (int64_t(1) << 31) - 65535 * int64_t(kThreads); }

// One thread per output of the contiguous out / indices [N, C, OH, OW]; the
// scan is the CPU's: the window clipped to the image, -inf to start, a value
// replaces the maximum when larger or NaN.
__global__ void max_pool2d_kernel(Geometry g, const float* x, Strides4 xs, float* out, int64_t* indices) {
  const int64_t total = g.n * g.c * g.oh * g.ow;
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    const int64_t ow = e % g.ow, oh = (e / g.ow) % g.oh, c = (e / (g.ow * g.oh)) % g.c, n = e / (g.ow * g.oh * g.c);
    const int64_t h0 = max(oh * g.sh - g.ph, int64_t(0)), h1 = min(oh * g.sh - g.ph + g.kh, g.h);
    const int64_t w0 = max(ow * g.sw - g.pw, int64_t(0)), w1 = min(ow * g.sw - g.pw + g.kw, g.w);
    const float* plane = x + n * xs.n + c * xs.c;
    float best = -INFINITY;
    int64_t best_at = h0 * g.w + w0;
    for (int64_t ih = h0; ih < h1; ++ih) {
      for (int64_t iw = w0; iw < w1; ++iw) {
        const float v = plane[ih * xs.h + iw * xs.w];
        if (v > best || isnan(v)) {
          best = v;
          best_at = ih * g.w + iw;
        }
      }
    }
    out[e] = best;
    indices[e] = best_at;
  }
}

// One thread per element of dy [N, C, OH, OW]; dx [N, C, H, W] is zeroed first.
__global__ void max_pool2d_backward_kernel(int64_t total, StridedIndex<2> index, int64_t plane_outputs, int64_t plane_size,
                                           const float* dy, const int64_t* indices, float* dx) {
  for (int64_t e = grid_start(); e < total; e += grid_step()) {
    int64_t off[2];
    index.offsets(e, off);
    const int64_t plane = e / plane_outputs;  // n * C + c
    atomicAdd(dx + plane * plane_size + indices[off[1]], dy[off[0]]);
  }
}

void check_float(const char* op, const Tensor& t) {
  check(t.dtype() == DType::Float32, op, ": expected a float32 tensor on CUDA, got ", t.dtype());
}

}  // namespace

void CudaBackend::im2col(const Tensor& x, Pair kernel, Pair stride, Pair padding, const Tensor& cols) {
  check_float("im2col", x);
  if (cols.numel() == 0) return;
  activate();
  const Geometry g = geometry(x.shape(), kernel, stride, padding);
  const auto launch = [&](auto index) {
    im2col_kernel<decltype(index)><<<grid_for(g.n * g.c * g.oh * g.ow), kThreads, 0, cuda_stream()>>>(
        g, device_data<float>(x), strides4(x), device_data<float>(cols));
  };
  if (fits_int32(std::max(cols.numel(), x.numel()))) launch(int32_t{});
  else launch(int64_t{});
  DL_CUDA_CHECK(cudaGetLastError());
}

void CudaBackend::col2im(const Tensor& cols, Pair kernel, Pair stride, Pair padding, const Tensor& out) {
  check_float("col2im", cols);
  if (out.numel() == 0) return;
  activate();
  const Geometry g = geometry(out.shape(), kernel, stride, padding);
  // cols [N, C*kh*kw, L]: its three strides travel in Strides4's n, c, h.
  const Strides4 cs = {cols.strides()[0], cols.strides()[1], cols.strides()[2], 0};
  const auto launch = [&](auto index) {
    col2im_kernel<decltype(index)><<<grid_for(out.numel()), kThreads, 0, cuda_stream()>>>(
        g, device_data<float>(cols), cs, device_data<float>(out));
  };
  if (fits_int32(std::max(cols.numel(), out.numel()))) launch(int32_t{});
  else launch(int64_t{});
  DL_CUDA_CHECK(cudaGetLastError());
}

void CudaBackend::max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, const Tensor& out,
                             const Tensor& indices) {
  check_float("max_pool2d", x);
  if (out.numel() == 0) return;
  activate();
  Geometry g = geometry(x.shape(), kernel, stride, padding);
  g.oh = out.shape()[2];
  g.ow = out.shape()[3];
  max_pool2d_kernel<<<grid_for(out.numel()), kThreads, 0, cuda_stream()>>>(g, device_data<float>(x), strides4(x),
                                                         device_data<float>(out), device_data<int64_t>(indices));
  DL_CUDA_CHECK(cudaGetLastError());
}

void CudaBackend::max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  check_float("max_pool2d_backward", dy);
  if (dx.numel() == 0) return;
  activate();
  const size_t nbytes = dx.numel() * sizeof(float);
  DL_CUDA_CHECK(cudaMemsetAsync(device_data<float>(dx), 0, nbytes, cuda_stream()));
  const int64_t total = dy.numel();
  if (total == 0) return;
  const StridedIndex<2> index = make_strided_index<2>(dy.shape(), {&dy.strides(), &indices.strides()});
  max_pool2d_backward_kernel<<<grid_for(total), kThreads, 0, cuda_stream()>>>(total, index, dy.shape()[2] * dy.shape()[3],
                                                            dx.shape()[2] * dx.shape()[3], device_data<float>(dy),
                                                            device_data<int64_t>(indices), device_data<float>(dx));
  DL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace dl
