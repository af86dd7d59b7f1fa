// conv.cpp — 2-D convolution, transposed convolution and max pooling
// (PyTorch semantics; no dilation, no groups).
//
// Convolution as a matrix product. For x [N, C, H, W], weight [O, C, kh, kw]
// and cols = im2col(x) [N, C*kh*kw, L] (L = OH * OW; see the kernel,
// tensor/cpu/conv.cpp), with W_mat = weight viewed as [O, C*kh*kw]:
//   y_n   = W_mat @ cols_n (+ b)                 y [N, O, OH, OW]
//   dW    = sum_n dy_n @ cols_n^T                (dy_n as [O, L]; one product
//                                                 over N*L, matmul_sum_batch)
//   dcols = W_mat^T @ dy_n,  dx = col2im(dcols)  (col2im is im2col's adjoint)
//   db    = sum of dy over N, OH, OW
// The products that take im2col(x) as an operand go through
// Backend::matmul_im2col and matmul_im2col_sum_batch, which the CPU computes
// without writing cols out (docs/cpu.md); col2im stays a kernel of its own.
// The transposed convolution is exactly the adjoint of that map: its forward
// is conv2d's dx computation and its backward is conv2d's forward (for dx)
// and conv2d's dW (with the roles of input and output swapped).
//
// Every op computes its value from other ops and kernels under NoGradGuard
// and records itself as one Node; a gradient nobody needs (a frozen weight,
// the data batch) is skipped, as matmul does, and the tensors only that
// gradient needs are not saved. The three ops' gradients are each other:
//   conv2d:            dx = conv_transpose2d(dy, W),  dW = conv2d_weight(x, dy)
//   conv_transpose2d:  dx = conv2d(dy, W),            dW = conv2d_weight(dy, x)
//   conv2d_weight:     dx = conv_transpose2d(g, G),   dg = conv2d(x, G)
// so a backward that builds graph records ops with backwards of their own,
// and every order of derivative is available.
#include <optional>

#include "graph/grad_mode.h"
#include "graph/node.h"
#include "ops/ops.h"
#include "tensor/backend.h"
#include "tensor/conv_geometry.h"

namespace dl {

namespace {

Shape pair_shape(Pair p) { return {p[0], p[1]}; }

// im2col is a plain reshape of the image [N, C, H, W] when, without
// padding, the kernel is 1x1 with stride 1 (cols[n, c, h*W + w] = x[n, c, h, w])
// or covers the whole image (one window: cols[n, (c*H + h)*W + w, 0]). Then
// col2im, its adjoint, is the reverse reshape: nothing to copy or sum.
bool im2col_is_reshape(int64_t h, int64_t w, Pair k, Pair s, Pair p) {
  if (p[0] != 0 || p[1] != 0) return false;
  return (k[0] == 1 && k[1] == 1 && s[0] == 1 && s[1] == 1) || (k[0] == h && k[1] == w);
}

// im2col(x) where it is a reshape (im2col_is_reshape): [N, C, H, W] -> [N, C*kh*kw, OH*OW].
Tensor cols_by_reshape(const Tensor& x, Pair k, Pair s, Pair p) {
  const int64_t oh = conv_out_size(x.size(2), k[0], s[0], p[0]), ow = conv_out_size(x.size(3), k[1], s[1], p[1]);
  return x.reshape({x.size(0), x.size(1) * k[0] * k[1], oh * ow});
}

// col2im as an op-level helper (no autograd): cols -> an image of `shape`.
Tensor columns_to_image(const Tensor& cols, const Shape& shape, Pair k, Pair s, Pair p) {
  if (im2col_is_reshape(shape[2], shape[3], k, s, p)) return cols.reshape(shape);
  Tensor out = Tensor::empty(shape, cols.dtype(), cols.device());
  backend(cols.device()).col2im(cols, k, s, p, out);
  return out;
}

// a @ im2col(x)[n] for every image n: [M, C*kh*kw] -> [N, M, L]. The
// backend may read the windows straight from x (Backend::matmul_im2col).
Tensor matmul_unfold(const Tensor& a, const Tensor& x, Pair k, Pair s, Pair p) {
  if (im2col_is_reshape(x.size(2), x.size(3), k, s, p)) return matmul(a, cols_by_reshape(x, k, s, p));
  const int64_t oh = conv_out_size(x.size(2), k[0], s[0], p[0]), ow = conv_out_size(x.size(3), k[1], s[1], p[1]);
  Tensor out = Tensor::empty({x.size(0), a.size(0), oh * ow}, x.dtype(), x.device());
  backend(x.device()).matmul_im2col(a, x, k, s, p, out);
  return out;
}

// sum_n a[n] @ b[n] as an op-level helper (no autograd): [N, M, K] and
// [N, K, P] -> [M, P], without the [N, M, P] products in between.
Tensor matmul_sum_batch(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::empty({a.size(1), b.size(2)}, a.dtype(), a.device());
  backend(a.device()).matmul_sum_batch(a, b, out);
  return out;
}

// sum_n a[n] @ im2col(x)[n]^T: [N, M, L] -> [M, C*kh*kw], a weight gradient
// (Backend::matmul_im2col_sum_batch).
Tensor matmul_sum_batch_unfold(const Tensor& a, const Tensor& x, Pair k, Pair s, Pair p) {
  if (im2col_is_reshape(x.size(2), x.size(3), k, s, p)) return matmul_sum_batch(a, cols_by_reshape(x, k, s, p).transpose(1, 2));
  Tensor out = Tensor::empty({a.size(1), x.size(1) * k[0] * k[1]}, a.dtype(), a.device());
  backend(x.device()).matmul_im2col_sum_batch(a, x, k, s, p, out);
  return out;
}

std::optional<SavedTensor> save_if(bool needed, const Tensor& t) {
  if (!needed) return std::nullopt;
  return save(t);
}

// Checks shared by the ops: 4-D floating input, positive stride, padding >= 0.
void check_input(const char* op, const Tensor& x, Pair stride, Pair padding) {
  check(x.defined(), op, ": input is undefined");
  check(x.dim() == 4, op, ": expected a 4-D input [N, C, H, W], got ", x.shape());
  check(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ", x.dtype(), " ", x.shape());
  check(stride[0] > 0 && stride[1] > 0, op, ": stride ", pair_shape(stride), " must be positive");
  check(padding[0] >= 0 && padding[1] >= 0, op, ": padding ", pair_shape(padding), " must not be negative");
}

// Weight (4-D) and optional bias (1-D of `bias_size`): dtype and device of x.
void check_params(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t bias_size) {
  check(weight.defined(), op, ": weight is undefined");
  check(weight.dim() == 4, op, ": expected a 4-D weight, got ", weight.shape());
  check(weight.dtype() == x.dtype(), op, ": input ", x.dtype(), " ", x.shape(), " and weight ", weight.dtype(), " ",
        weight.shape(), " have different dtypes");
  check(weight.device() == x.device(), op, ": input on ", x.device(), ", weight on ", weight.device());
  check(weight.size(2) > 0 && weight.size(3) > 0, op, ": weight ", weight.shape(), " has an empty kernel");
  if (!bias.defined()) return;
  check(bias.dim() == 1 && bias.size(0) == bias_size, op, ": bias ", bias.shape(), " does not match weight ",
        weight.shape(), " (expected [", bias_size, "])");
  check(bias.dtype() == x.dtype(), op, ": input ", x.dtype(), " ", x.shape(), " and bias ", bias.dtype(), " ",
        bias.shape(), " have different dtypes");
  check(bias.device() == x.device(), op, ": input on ", x.device(), ", bias on ", bias.device());
}

}  // namespace

// y = W_mat @ im2col(x) (+ b);  dx = col2im(W_mat^T @ dy),  dW = sum_n dy_n @ cols_n^T,  db = sum_{N,H,W} dy
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding) {
  check_input("conv2d", x, stride, padding);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  check_params("conv2d", x, weight, bias, weight.defined() && weight.dim() == 4 ? weight.size(0) : 0);
  const int64_t o = weight.size(0);
  const Pair k = {weight.size(2), weight.size(3)};
  check(weight.size(1) == c, "conv2d: input ", x.shape(), " has ", c, " channels, weight ", weight.shape(),
        " expects ", weight.size(1));
  check(h + 2 * padding[0] >= k[0] && w + 2 * padding[1] >= k[1], "conv2d: input ", x.shape(), " with padding ",
        pair_shape(padding), " is smaller than the kernel ", pair_shape(k), " of weight ", weight.shape());
  const int64_t oh = conv_out_size(h, k[0], stride[0], padding[0]), ow = conv_out_size(w, k[1], stride[1], padding[1]);
  const int64_t ck = c * k[0] * k[1];

  Tensor y;
  {
    NoGradGuard no_grad;  // recorded below as one "conv2d" node
    Tensor out = matmul_unfold(weight.reshape({o, ck}), x, k, stride, padding);  // [N, O, L]
    if (bias.defined()) out = out + bias.reshape({o, 1});
    y = out.reshape({n, o, oh, ow});
  }
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool has_bias = bias.defined(), need_b = has_bias && bias.requires_grad();
  TensorList inputs = {x, weight};
  if (has_bias) inputs.push_back(bias);
  // The gradients are ops themselves (dx a transposed convolution, dW a
  // conv2d_weight), which record their own Nodes in a backward that builds
  // graph: conv2d can be differentiated twice, and more.
  record_differentiable("conv2d", inputs, y,
                        [xs = save_if(need_w, x), ws = save_if(need_x, weight), x_shape = x.shape(), k, stride,
                         padding, need_x, need_w, has_bias, need_b](const Tensor& dy) {
                          TensorList grads(has_bias ? 3 : 2);
                          if (need_x) {
                            // The output_padding that gives back x's size: the rows and columns past the
                            // last window, which the forward never read.
                            const Pair output_padding = {
                                x_shape[2] - ((dy.size(2) - 1) * stride[0] - 2 * padding[0] + k[0]),
                                x_shape[3] - ((dy.size(3) - 1) * stride[1] - 2 * padding[1] + k[1])};
                            grads[0] = conv_transpose2d(dy, ws->get(), Tensor(), stride, padding, output_padding);
                          }
                          if (need_w) grads[1] = conv2d_weight(xs->get(), dy, k, stride, padding);
                          if (need_b) grads[2] = sum(dy, {0, 2, 3});
                          return grads;
                        });
  return y;
}

// dW of conv2d(x, W) for the output gradient g: sum_n g_n @ im2col(x)_n^T,
// [O, C, kh, kw]. Bilinear in x and g, and for G = dL/d(result):
//   dx = conv_transpose2d(g, G),  dg = conv2d(x, G)
// (both derivatives of <g, conv2d(x, W)> with W = G).
Tensor conv2d_weight(const Tensor& x, const Tensor& grad_output, Pair kernel, Pair stride, Pair padding) {
  check_input("conv2d_weight", x, stride, padding);
  const Tensor& g = grad_output;
  const int64_t n = x.size(0), c = x.size(1);
  check(g.dim() == 4 && g.size(0) == n && g.dtype() == x.dtype() && g.device() == x.device() &&
            g.size(2) == conv_out_size(x.size(2), kernel[0], stride[0], padding[0]) &&
            g.size(3) == conv_out_size(x.size(3), kernel[1], stride[1], padding[1]),
        "conv2d_weight: grad_output ", g.shape(), " ", g.dtype(), " is not the output of a convolution of ", x.shape(),
        " ", x.dtype(), " with kernel ", pair_shape(kernel), ", stride ", pair_shape(stride), ", padding ",
        pair_shape(padding));
  const int64_t o = g.size(1);
  Tensor dw;
  {
    NoGradGuard no_grad;  // recorded below as one "conv2d_weight" node
    const Tensor g3 = g.reshape({n, o, g.size(2) * g.size(3)});  // [N, O, L]
    dw = matmul_sum_batch_unfold(g3, x, kernel, stride, padding).reshape({o, c, kernel[0], kernel[1]});
  }
  const bool need_x = x.requires_grad(), need_g = g.requires_grad();
  record_differentiable("conv2d_weight", {x, g}, dw,
                        [xs = save_if(need_g, x), gs = save_if(need_x, g), x_shape = x.shape(), stride, padding,
                         need_x, need_g](const Tensor& d_dw) {
                          TensorList grads(2);
                          if (need_x) {
                            const Tensor& g = gs->get();
                            const Pair output_padding = {
                                x_shape[2] - ((g.size(2) - 1) * stride[0] - 2 * padding[0] + d_dw.size(2)),
                                x_shape[3] - ((g.size(3) - 1) * stride[1] - 2 * padding[1] + d_dw.size(3))};
                            grads[0] = conv_transpose2d(g, d_dw, Tensor(), stride, padding, output_padding);
                          }
                          if (need_g) grads[1] = conv2d(xs->get(), d_dw, Tensor(), stride, padding);
                          return grads;
                        });
  return dw;
}

// The adjoint of conv2d (weight [C_in, C_out, kh, kw] maps C_out -> C_in in
// conv2d, so here it maps C_in -> C_out):
//   y = col2im(W_mat^T @ x_n) (+ b),  H_out = (H - 1) s - 2 p + kh + output_padding
//   dx = W_mat @ im2col(dy),  dW = sum_n x_n @ im2col(dy)_n^T,  db = sum_{N,H,W} dy
// output_padding only adds rows and columns at the bottom and right that no
// input pixel reaches (they get the bias alone); it must stay below the
// stride, so that conv2d of the output size gives back H.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
                        Pair output_padding) {
  check_input("conv_transpose2d", x, stride, padding);
  const int64_t n = x.size(0), c_in = x.size(1), h = x.size(2), w = x.size(3);
  check_params("conv_transpose2d", x, weight, bias, weight.defined() && weight.dim() == 4 ? weight.size(1) : 0);
  const int64_t c_out = weight.size(1);
  const Pair k = {weight.size(2), weight.size(3)};
  check(weight.size(0) == c_in, "conv_transpose2d: input ", x.shape(), " has ", c_in, " channels, weight ",
        weight.shape(), " expects ", weight.size(0));
  check(output_padding[0] >= 0 && output_padding[1] >= 0 && output_padding[0] < stride[0] &&
            output_padding[1] < stride[1],
        "conv_transpose2d: output_padding ", pair_shape(output_padding), " must be at least 0 and smaller than stride ",
        pair_shape(stride));
  const int64_t oh = (h - 1) * stride[0] - 2 * padding[0] + k[0] + output_padding[0];
  const int64_t ow = (w - 1) * stride[1] - 2 * padding[1] + k[1] + output_padding[1];
  check(h > 0 && w > 0 && oh > 0 && ow > 0, "conv_transpose2d: input ", x.shape(), " with weight ", weight.shape(),
        ", stride ", pair_shape(stride), ", padding ", pair_shape(padding), " gives an empty output [", oh, ", ", ow,
        "]");
  const int64_t ck = c_out * k[0] * k[1];

  Tensor y;
  {
    NoGradGuard no_grad;  // recorded below as one "conv_transpose2d" node
    const Tensor cols = matmul(weight.reshape({c_in, ck}).t(), x.reshape({n, c_in, h * w}));  // [N, C_out*kh*kw, H*W]
    y = columns_to_image(cols, {n, c_out, oh, ow}, k, stride, padding);
    if (bias.defined()) y = y + bias.reshape({c_out, 1, 1});
  }
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool has_bias = bias.defined(), need_b = has_bias && bias.requires_grad();
  TensorList inputs = {x, weight};
  if (has_bias) inputs.push_back(bias);
  // dx = conv2d(dy, W): the forward of what this op is the adjoint of;
  // dW = conv2d_weight(dy, x): the weight gradient of that conv2d, with x
  // as its output gradient. Both are ops, so this one is twice differentiable.
  record_differentiable("conv_transpose2d", inputs, y,
                        [xs = save_if(need_w, x), ws = save_if(need_x, weight), k, stride, padding, need_x, need_w,
                         has_bias, need_b](const Tensor& dy) {
                          TensorList grads(has_bias ? 3 : 2);
                          if (need_x) grads[0] = conv2d(dy, ws->get(), Tensor(), stride, padding);
                          if (need_w) grads[1] = conv2d_weight(dy, xs->get(), k, stride, padding);
                          if (need_b) grads[2] = sum(dy, {0, 2, 3});
                          return grads;
                        });
  return y;
}

// y[n, c, oh, ow] = max over the window (padding counts as -inf);
// dx = dy routed to the position of each window's maximum (the first one on
// ties), summed where windows overlap.
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding) {
  check_input("max_pool2d", x, stride, padding);
  check(kernel[0] > 0 && kernel[1] > 0, "max_pool2d: kernel ", pair_shape(kernel), " must be positive");
  check(2 * padding[0] <= kernel[0] && 2 * padding[1] <= kernel[1], "max_pool2d: padding ", pair_shape(padding),
        " must be at most half the kernel ", pair_shape(kernel));
  const int64_t h = x.size(2), w = x.size(3);
  check(h + 2 * padding[0] >= kernel[0] && w + 2 * padding[1] >= kernel[1], "max_pool2d: input ", x.shape(),
        " with padding ", pair_shape(padding), " is smaller than the kernel ", pair_shape(kernel));
  const Shape out_shape = {x.size(0), x.size(1), conv_out_size(h, kernel[0], stride[0], padding[0]),
                           conv_out_size(w, kernel[1], stride[1], padding[1])};
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  const Tensor indices = Tensor::empty(out_shape, DType::Int64, x.device());
  backend(x.device()).max_pool2d(x, kernel, stride, padding, y, indices);
  // dx[n, c, i] = sum of dy[n, c, l] over the windows l whose maximum is at
  // i. A first-order backward scatters with the kernel; one that builds
  // graph writes the scatter as a product with the one-hot of the indices,
  //   dx[n, c] = one_hot(indices[n, c])^T @ dy[n, c],
  // which is linear in dy and recorded, so it can be differentiated again
  // (its own gradient gathers at the indices).
  record_differentiable(
      "max_pool2d", {x}, y, [is = save(indices), x_shape = x.shape(), x_dtype = x.dtype()](const Tensor& dy) {
        if (grad_enabled()) {
          const int64_t n = x_shape[0], c = x_shape[1], plane = x_shape[2] * x_shape[3];
          const Tensor routes = one_hot(is.get().reshape({n, c, dy.size(2) * dy.size(3)}), plane).to(x_dtype);
          const Tensor dx = matmul(routes.transpose(2, 3), dy.reshape({n, c, dy.size(2) * dy.size(3), 1}));
          return TensorList{dx.reshape(x_shape)};
        }
        Tensor dx = Tensor::empty(x_shape, x_dtype, dy.device());
        backend(dy.device()).max_pool2d_backward(dy, is.get(), dx);
        return TensorList{dx};
      });
  return y;
}

}  // namespace dl
