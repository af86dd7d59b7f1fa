// conv.cpp — the CPU kernels behind conv2d, conv_transpose2d and max_pool2d
// (ops/conv.cpp): im2col, its adjoint col2im, and max pooling.
//
// For an image [N, C, H, W], a kernel kh x kw, stride (sh, sw) and zero
// padding (ph, pw), the window at output position (oh, ow) covers the rows
// oh*sh - ph + i (i < kh) and the columns ow*sw - pw + j (j < kw), with
//   OH = (H + 2 ph - kh) / sh + 1,  OW = (W + 2 pw - kw) / sw + 1  (floor).
// im2col lays every window out as one column of a matrix per image:
//   cols[n, (c*kh + i)*kw + j, oh*OW + ow] = x[n, c, oh*sh - ph + i, ow*sw - pw + j]  (0 in the padding)
// so that a convolution becomes a matrix product with the [O, C*kh*kw] weight.
// col2im is its adjoint: each cols entry is added back into the pixel it was
// read from (entries read from the padding are dropped).
//
// Plain loops over raw pointers with each operand's own strides: inputs may
// be any strided view, outputs are contiguous (the kernel contract).
// im2col and col2im are threaded over the N*C image planes, each plane
// written by one thread only, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/strided.h"
#include "tensor/cpu/thread_pool.h"

namespace dl {

namespace {

using Pair = std::array<int64_t, 2>;

int64_t window_count(int64_t size, int64_t kernel, int64_t stride, int64_t padding) {
  return (size + 2 * padding - kernel) / stride + 1;
}

// Image planes (n, c) per thread chunk: enough that a chunk moves about
// kElementwiseGrain values.
int64_t planes_grain(Pair k, int64_t length) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, k[0] * k[1] * length));
}

// The pixel each cols entry of one plane reads, in cols order
// r = (i*kw + j)*L + oh*OW + ow, as the offset ih*row_stride + iw*col_stride
// in its plane, or -1 in the padding. Every plane of a call shares the
// table, so the kernels' inner loops run over a plane's kh*kw*L entries at
// once whatever the window sizes.
std::vector<int64_t> window_offsets(int64_t h, int64_t w, int64_t row_stride, int64_t col_stride, Pair k, Pair s,
                                    Pair p) {
  const int64_t oh_count = window_count(h, k[0], s[0], p[0]), ow_count = window_count(w, k[1], s[1], p[1]);
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(k[0] * k[1] * oh_count * ow_count));
  for (int64_t i = 0; i < k[0]; ++i)
    for (int64_t j = 0; j < k[1]; ++j)
      for (int64_t oh = 0; oh < oh_count; ++oh)
        for (int64_t ow = 0; ow < ow_count; ++ow) {
          const int64_t ih = oh * s[0] - p[0] + i, iw = ow * s[1] - p[1] + j;
          offsets.push_back(ih < 0 || ih >= h || iw < 0 || iw >= w ? -1 : ih * row_stride + iw * col_stride);
        }
  return offsets;
}

// Threaded over the N*C image planes: plane (n, c) alone writes the kh*kw
// rows (c*kh + i)*kw + j of cols[n], which are contiguous.
template <typename T>
void im2col_typed(const Tensor& x, Pair k, Pair s, Pair p, const Tensor& cols) {
  const int64_t channels = x.shape()[1];
  const Shape& xs = x.strides();
  const std::vector<int64_t> offsets = window_offsets(x.shape()[2], x.shape()[3], xs[2], xs[3], k, s, p);
  const int64_t per_plane = static_cast<int64_t>(offsets.size());
  const T* in = x.data<T>();
  T* out = cols.data<T>();  // contiguous [N, C*kh*kw, L]
  parallel_for(0, x.shape()[0] * channels, planes_grain(k, cols.shape()[2]), [&](int64_t first, int64_t last) {
    for (int64_t plane_index = first; plane_index < last; ++plane_index) {
      const T* plane = in + (plane_index / channels) * xs[0] + (plane_index % channels) * xs[1];
      T* dst = out + plane_index * per_plane;
      for (int64_t r = 0; r < per_plane; ++r) dst[r] = offsets[r] < 0 ? T(0) : plane[offsets[r]];
    }
  });
}

// Threaded over the N*C output planes: plane (n, c) only receives the rows
// (c*kh + i)*kw + j of cols[n], added in cols order for any thread count.
template <typename T>
void col2im_typed(const Tensor& cols, Pair k, Pair s, Pair p, const Tensor& out) {
  const int64_t channels = out.shape()[1], h = out.shape()[2], w = out.shape()[3], length = cols.shape()[2];
  const std::vector<int64_t> offsets = window_offsets(h, w, w, 1, k, s, p);
  const T* in = cols.data<T>();
  T* img = out.data<T>();  // contiguous [N, C, H, W]
  const Shape& cs = cols.strides();
  parallel_for(0, out.shape()[0] * channels, planes_grain(k, length), [&](int64_t first, int64_t last) {
    for (int64_t plane_index = first; plane_index < last; ++plane_index) {
      const int64_t n = plane_index / channels, c = plane_index % channels;
      T* plane = img + plane_index * h * w;
      std::fill(plane, plane + h * w, T(0));
      for (int64_t q = 0; q < k[0] * k[1]; ++q) {
        const T* src = in + n * cs[0] + (c * k[0] * k[1] + q) * cs[1];
        const int64_t* at = offsets.data() + q * length;
        for (int64_t l = 0; l < length; ++l)
          if (at[l] >= 0) plane[at[l]] += src[l * cs[2]];
      }
    }
  });
}

// The scan order and the comparison are PyTorch's CPU kernel's: the window
// is clipped to the image (padding never wins), the running maximum starts
// at -inf on the window's first pixel, and a value replaces it when it is
// larger or NaN, so the first maximum wins ties and NaN propagates.
template <typename T>
void max_pool2d_typed(const Tensor& x, Pair k, Pair s, Pair p, const Tensor& out, const Tensor& indices) {
  const int64_t n_count = x.shape()[0], channels = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const int64_t oh_count = out.shape()[2], ow_count = out.shape()[3];
  const T* in = x.data<T>();
  T* o = out.data<T>();                   // contiguous [N, C, OH, OW]
  int64_t* idx = indices.data<int64_t>();  // contiguous, same shape
  const Shape& xs = x.strides();
  for (int64_t n = 0; n < n_count; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const T* plane = in + n * xs[0] + c * xs[1];
      for (int64_t oh = 0; oh < oh_count; ++oh) {
        const int64_t h0 = std::max<int64_t>(oh * s[0] - p[0], 0), h1 = std::min(oh * s[0] - p[0] + k[0], h);
        for (int64_t ow = 0; ow < ow_count; ++ow) {
          const int64_t w0 = std::max<int64_t>(ow * s[1] - p[1], 0), w1 = std::min(ow * s[1] - p[1] + k[1], w);
          T best = -std::numeric_limits<T>::infinity();
          int64_t best_at = h0 * w + w0;
          for (int64_t ih = h0; ih < h1; ++ih) {
            for (int64_t iw = w0; iw < w1; ++iw) {
              const T v = plane[ih * xs[2] + iw * xs[3]];
              if (v > best || std::isnan(v)) {
                best = v;
                best_at = ih * w + iw;
              }
            }
          }
          *o++ = best;
          *idx++ = best_at;
        }
      }
    }
  }
}

template <typename T>
void max_pool2d_backward_typed(const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  const int64_t n_count = dy.shape()[0], channels = dy.shape()[1], oh_count = dy.shape()[2],
                ow_count = dy.shape()[3];
  const int64_t plane_size = dx.shape()[2] * dx.shape()[3];
  const T* g = dy.data<T>();
  const int64_t* idx = indices.data<int64_t>();
  T* out = dx.data<T>();  // contiguous [N, C, H, W]
  const Shape& gs = dy.strides();
  const Shape& is = indices.strides();
  std::fill(out, out + dx.numel(), T(0));
  for (int64_t n = 0; n < n_count; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      T* plane = out + (n * channels + c) * plane_size;
      for (int64_t oh = 0; oh < oh_count; ++oh) {
        for (int64_t ow = 0; ow < ow_count; ++ow) {
          const int64_t at = idx[n * is[0] + c * is[1] + oh * is[2] + ow * is[3]];
          plane[at] += g[n * gs[0] + c * gs[1] + oh * gs[2] + ow * gs[3]];
        }
      }
    }
  }
}

}  // namespace

void CpuBackend::im2col(const Tensor& x, Pair kernel, Pair stride, Pair padding, const Tensor& cols) {
  visit_floating(x.dtype(), "im2col", [&](auto tag) { im2col_typed<decltype(tag)>(x, kernel, stride, padding, cols); });
}

void CpuBackend::col2im(const Tensor& cols, Pair kernel, Pair stride, Pair padding, const Tensor& out) {
  visit_floating(cols.dtype(), "col2im",
                 [&](auto tag) { col2im_typed<decltype(tag)>(cols, kernel, stride, padding, out); });
}

void CpuBackend::max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, const Tensor& out,
                            const Tensor& indices) {
  visit_floating(x.dtype(), "max_pool2d",
                 [&](auto tag) { max_pool2d_typed<decltype(tag)>(x, kernel, stride, padding, out, indices); });
}

void CpuBackend::max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  visit_floating(dy.dtype(), "max_pool2d_backward",
                 [&](auto tag) { max_pool2d_backward_typed<decltype(tag)>(dy, indices, dx); });
}

}  // namespace dl
