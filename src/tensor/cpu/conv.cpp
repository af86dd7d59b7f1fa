// conv.cpp — the CPU kernels behind conv2d, conv_transpose2d and max_pool2d
// (ops/conv.cpp): im2col, its adjoint col2im, the two products with im2col(x)
// as an operand (read straight from x, never written out), and max pooling.
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

#include "tensor/conv_geometry.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/strided.h"
#include "tensor/cpu/thread_pool.h"

namespace dl {

namespace {

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
  const int64_t oh_count = conv_out_size(h, k[0], s[0], p[0]), ow_count = conv_out_size(w, k[1], s[1], p[1]);
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

// ---- products with an implicit im2col ----------------------------------------
//
// The cols entry (q, l) = ((c, i, j), (oh, ow)) of image n reads
//   x[n, c, oh*sh - ph + i, ow*sw - pw + j],
// and that offset splits into a part that depends on q only and a part that
// depends on (n, l) only:
//   (c*Cs + i*Hs + j*Ws) + (n*Ns + (oh*sh - ph)*Hs + (ow*sw - pw)*Ws).
// With the batch folded into its columns, im2col(x) is therefore a GEMM
// operand given by two offset tables (gemm.h), and the GEMM's packing reads
// the windows straight from x: the kh*kw times larger cols matrix is never
// written to memory and read back. Only the zero padding breaks the split
// (those entries read no pixel); a copy of x with its zero border stored
// restores it, at the cost of one pass over x. The GEMM sees the same values
// in the same order as with an explicit cols, so the results are the same bits.
template <typename T>
struct ImplicitCols {
  Tensor padded;                        // x with its zero border, when there is padding
  const T* data = nullptr;              // x, or padded
  std::vector<int64_t> tap_offsets;     // [C*kh*kw]: the part of q = (c*kh + i)*kw + j
  std::vector<int64_t> window_offsets;  // [N*L]: the part of (n, l = oh*OW + ow)
};

template <typename T>
Tensor zero_padded(const Tensor& x, Pair p) {
  const int64_t h = x.shape()[2], w = x.shape()[3], wide = w + 2 * p[1];
  Tensor out = Tensor::empty({x.shape()[0], x.shape()[1], h + 2 * p[0], wide}, x.dtype(), x.device());
  const int64_t channels = x.shape()[1], plane_size = (h + 2 * p[0]) * wide;
  const Shape& xs = x.strides();
  const T* in = x.data<T>();
  T* o = out.data<T>();
  parallel_for(0, x.shape()[0] * channels, std::max<int64_t>(1, kElementwiseGrain / plane_size),
               [&](int64_t first, int64_t last) {
                 for (int64_t plane_index = first; plane_index < last; ++plane_index) {
                   const T* src = in + (plane_index / channels) * xs[0] + (plane_index % channels) * xs[1];
                   T* plane = o + plane_index * plane_size;
                   // The border is written once as zeros, the interior once as x.
                   std::fill(plane, plane + p[0] * wide, T(0));
                   for (int64_t ih = 0; ih < h; ++ih) {
                     T* row = plane + (ih + p[0]) * wide;
                     const T* src_row = src + ih * xs[2];
                     std::fill(row, row + p[1], T(0));
                     if (xs[3] == 1) {
                       std::copy(src_row, src_row + w, row + p[1]);
                     } else {
                       for (int64_t iw = 0; iw < w; ++iw) row[p[1] + iw] = src_row[iw * xs[3]];
                     }
                     std::fill(row + p[1] + w, row + wide, T(0));
                   }
                   std::fill(plane + (h + p[0]) * wide, plane + plane_size, T(0));
                 }
               });
  return out;
}

template <typename T>
ImplicitCols<T> implicit_cols(const Tensor& x, Pair k, Pair s, Pair p) {
  ImplicitCols<T> cols;
  const bool padding = p[0] != 0 || p[1] != 0;
  if (padding) cols.padded = zero_padded<T>(x, p);
  const Tensor& source = padding ? cols.padded : x;
  cols.data = source.data<T>();
  const Shape& st = source.strides();
  const int64_t oh_count = conv_out_size(x.shape()[2], k[0], s[0], p[0]);
  const int64_t ow_count = conv_out_size(x.shape()[3], k[1], s[1], p[1]);
  for (int64_t c = 0; c < x.shape()[1]; ++c)
    for (int64_t i = 0; i < k[0]; ++i)
      for (int64_t j = 0; j < k[1]; ++j) cols.tap_offsets.push_back(c * st[1] + i * st[2] + j * st[3]);
  // In the padded copy, the window at (oh, ow) starts at (oh*sh, ow*sw).
  for (int64_t n = 0; n < x.shape()[0]; ++n)
    for (int64_t oh = 0; oh < oh_count; ++oh)
      for (int64_t ow = 0; ow < ow_count; ++ow)
        cols.window_offsets.push_back(n * st[0] + oh * s[0] * st[2] + ow * s[1] * st[3]);
  return cols;
}

// out[n] = a @ im2col(x)[n]: ONE product [M, C*kh*kw] @ [C*kh*kw, N*L], as
// matmul folds a shared left operand (matmul.cpp).
template <typename T>
void matmul_im2col_typed(const Tensor& a, const Tensor& x, Pair k, Pair s, Pair p, const Tensor& out) {
  const ImplicitCols<T> cols = implicit_cols<T>(x, k, s, p);
  const int64_t m = a.shape()[0], depth = a.shape()[1], batch = x.shape()[0], length = out.shape()[2];
  const std::vector<int64_t> a_rows = strided_offsets(m, a.strides()[0]), a_cols = strided_offsets(depth, a.strides()[1]);
  const std::vector<int64_t> out_rows = strided_offsets(m, length), out_cols = folded_offsets(batch, m * length, length, 1);
  gemm<T>(m, batch * length, depth, {a.data<T>(), a_rows.data(), a_cols.data()},
          {cols.data, cols.tap_offsets.data(), cols.window_offsets.data()}, {out.data<T>(), out_rows.data(), out_cols.data()},
          false);
}

// out = sum_n a[n] @ im2col(x)[n]^T: ONE product [M, N*L] @ [N*L, C*kh*kw],
// summed over (n, l) in the order matmul_sum_batch uses.
template <typename T>
void matmul_im2col_sum_batch_typed(const Tensor& a, const Tensor& x, Pair k, Pair s, Pair p, const Tensor& out) {
  const ImplicitCols<T> cols = implicit_cols<T>(x, k, s, p);
  const int64_t batch = a.shape()[0], m = a.shape()[1], length = a.shape()[2], depth = out.shape()[1];
  const Shape& sa = a.strides();
  const std::vector<int64_t> a_rows = strided_offsets(m, sa[1]), a_cols = folded_offsets(batch, sa[0], length, sa[2]);
  const std::vector<int64_t> out_rows = strided_offsets(m, depth), out_cols = strided_offsets(depth, 1);
  gemm<T>(m, depth, batch * length, {a.data<T>(), a_rows.data(), a_cols.data()},
          {cols.data, cols.window_offsets.data(), cols.tap_offsets.data()},
          {out.data<T>(), out_rows.data(), out_cols.data()}, false);
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

void CpuBackend::matmul_im2col(const Tensor& a, const Tensor& x, Pair kernel, Pair stride, Pair padding,
                               const Tensor& out) {
  visit_floating(x.dtype(), "matmul_im2col",
                 [&](auto tag) { matmul_im2col_typed<decltype(tag)>(a, x, kernel, stride, padding, out); });
}

void CpuBackend::matmul_im2col_sum_batch(const Tensor& a, const Tensor& x, Pair kernel, Pair stride, Pair padding,
                                         const Tensor& out) {
  visit_floating(x.dtype(), "matmul_im2col_sum_batch",
                 [&](auto tag) { matmul_im2col_sum_batch_typed<decltype(tag)>(a, x, kernel, stride, padding, out); });
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
