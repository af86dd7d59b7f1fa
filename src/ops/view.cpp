// view.cpp — views (new shape/strides/offset over the same storage, no
// copy), the copies contiguous/clone/to (dtype and device), and cat/stack.
//
// Backward of a view maps the gradient back through the same index
// arithmetic in reverse:
//   reshape family:  dx = dy.reshape(x.shape)
//   permute(p):      dx = dy.permute(p^-1)
//   expand:          dx = sum_to(dy, x.shape)         (repeats are summed)
//   slice / select:  dx = zeros(x.shape) with dy written into the same slice
#include <algorithm>
#include <optional>

#include "graph/grad_mode.h"
#include "graph/node.h"
#include "ops/ops.h"
#include "ops/view.h"
#include "tensor/backend.h"

namespace dl {

Tensor expand_view(const char* op, const Tensor& x, const Shape& shape) {
  const int64_t lead = static_cast<int64_t>(shape.size()) - x.dim();
  check(lead >= 0, op, ": cannot expand shape ", x.shape(), " to ", shape, " (fewer dims)");
  Shape strides(shape.size(), 0);  // new leading dims repeat: stride 0
  for (int64_t d = 0; d < x.dim(); ++d) {
    const int64_t size = x.shape()[d];
    check(size == shape[d + lead] || size == 1, op, ": cannot expand shape ", x.shape(), " to ", shape);
    strides[d + lead] = size == shape[d + lead] ? x.strides()[d] : 0;
  }
  return as_strided_view(x, shape, strides, x.offset());
}

namespace {

// Resolves one -1 in a requested shape from the element count.
Shape infer_shape(const char* op, const Shape& requested, const Shape& from) {
  Shape shape = requested;
  int64_t known = 1, infer_at = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      check(infer_at < 0, op, ": only one dim can be -1, got ", requested);
      infer_at = static_cast<int64_t>(d);
    } else {
      check(shape[d] >= 0, op, ": invalid size in shape ", requested);
      known *= shape[d];
    }
  }
  const int64_t numel = shape_numel(from);
  if (infer_at >= 0) {
    check(known != 0 && numel % known == 0, op, ": shape ", requested, " is invalid for input of shape ", from);
    shape[infer_at] = numel / known;
  }
  check(shape_numel(shape) == numel, op, ": shape ", requested, " is invalid for input of shape ", from);
  return shape;
}

// Strides that view the tensor's elements (in row-major order) as `shape`
// without copying, if they exist. Splits the old dims into chunks that are
// contiguous with each other; each chunk can be re-split freely, but new
// dims may not straddle two chunks.
std::optional<Shape> view_strides(const Tensor& x, const Shape& shape) {
  if (x.is_contiguous()) return contiguous_strides(shape);
  Shape strides(shape.size());
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = x.strides().back();
  int64_t chunk_numel = 1, view_numel = 1;
  for (int64_t d = x.dim() - 1; d >= 0; --d) {
    chunk_numel *= x.shape()[d];
    const bool chunk_ends =
        d == 0 || (x.shape()[d - 1] != 1 && x.strides()[d - 1] != chunk_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < chunk_numel || shape[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= shape[view_d];
      --view_d;
    }
    if (view_numel != chunk_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = x.strides()[d - 1];
      chunk_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

// Records the backward shared by every view that only changes the shape.
Tensor record_reshape(const char* op, const Tensor& x, const Tensor& y) {
  record_differentiable(op, {x}, y, [x_shape = x.shape()](const Tensor& dy) { return TensorList{dy.reshape(x_shape)}; });
  return y;
}

// dy scattered into zeros of x's shape where `make_view` reads: the adjoint
// of a sub-view, and so the backward of slice, narrow and select. Recorded
// itself, with the view again as its backward, so that those views can be
// differentiated twice.
template <typename MakeView>
Tensor scatter_into_view(const Tensor& dy, const Shape& x_shape, MakeView make_view) {
  Tensor dx;
  {
    NoGradGuard no_grad;  // recorded below as one node
    dx = zeros(x_shape, dy.dtype(), dy.device());
    make_view(dx).copy_(dy);
  }
  record_differentiable("scatter_into_view", {dy}, dx,
                        [make_view](const Tensor& d_dx) { return TensorList{make_view(d_dx)}; });
  return dx;
}

// The backward shared by slice, narrow and select: dx = scatter_into_view(dy).
template <typename MakeView>
Tensor record_sub_view(const char* op, const Tensor& x, const Tensor& y, MakeView make_view) {
  record_differentiable(op, {x}, y, [x_shape = x.shape(), make_view](const Tensor& dy) {
    return TensorList{scatter_into_view(dy, x_shape, make_view)};
  });
  return y;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  const Shape shape = infer_shape("view", requested, this->shape());
  const std::optional<Shape> strides = view_strides(*this, shape);
  check(strides.has_value(), "view: shape ", requested, " is not compatible with the strides ", this->strides(),
        " of input shape ", this->shape(), "; use reshape() (which copies)");
  return record_reshape("view", *this, as_strided_view(*this, shape, *strides, offset()));
}

Tensor Tensor::reshape(const Shape& requested) const {
  const Shape shape = infer_shape("reshape", requested, this->shape());
  const std::optional<Shape> strides = view_strides(*this, shape);
  if (!strides) return contiguous().view(shape);
  return record_reshape("reshape", *this, as_strided_view(*this, shape, *strides, offset()));
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  const int64_t start = normalize_dim("flatten", start_dim, dim(), shape());
  const int64_t end = normalize_dim("flatten", end_dim, dim(), shape());
  check(start <= end, "flatten: start_dim ", start_dim, " after end_dim ", end_dim, " for shape ", shape());
  Shape flat(shape().begin(), shape().begin() + start);
  flat.push_back(shape_numel(Shape(shape().begin() + start, shape().begin() + end + 1)));
  flat.insert(flat.end(), shape().begin() + end + 1, shape().end());
  return reshape(flat);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  check(static_cast<int64_t>(dims.size()) == dim(), "permute: ", dims.size(), " dims given for shape ", shape());
  Shape new_shape(dims.size()), new_strides(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = normalize_dim("permute", dims[i], dim(), shape());
    check(inverse[d] < 0, "permute: dim ", dims[i], " repeated in ", shape_str(dims), " for shape ", shape());
    inverse[d] = static_cast<int64_t>(i);
    new_shape[i] = shape()[d];
    new_strides[i] = strides()[d];
  }
  Tensor y = as_strided_view(*this, new_shape, new_strides, offset());
  record_differentiable("permute", {*this}, y, [inverse](const Tensor& dy) { return TensorList{dy.permute(inverse)}; });
  return y;
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  std::vector<int64_t> order(dim());
  for (int64_t d = 0; d < dim(); ++d) order[d] = d;
  std::swap(order[normalize_dim("transpose", dim0, dim(), shape())],
            order[normalize_dim("transpose", dim1, dim(), shape())]);
  return permute(order);
}

Tensor Tensor::t() const {
  check(dim() == 2, "t: expected a 2-D tensor, got shape ", shape());
  return transpose(0, 1);
}

Tensor Tensor::slice(int64_t dim_arg, int64_t start, int64_t end, int64_t step) const {
  const int64_t d = normalize_dim("slice", dim_arg, dim(), shape());
  const int64_t size = shape()[d];
  // Negative bounds count from the end, as in Python; out of range is an error.
  const int64_t first = start < 0 ? start + size : start;
  const int64_t last = end < 0 ? end + size : end;
  check(step > 0, "slice: step must be positive, got ", step);
  check(0 <= first && first <= last && last <= size, "slice: range [", start, ", ", end, ") out of bounds for dim ",
        dim_arg, " of shape ", shape());
  Shape new_shape = shape(), new_strides = strides();
  new_shape[d] = (last - first + step - 1) / step;
  new_strides[d] = strides()[d] * step;
  Tensor y = as_strided_view(*this, new_shape, new_strides, offset() + first * strides()[d]);
  return record_sub_view("slice", *this, y, [=](const Tensor& t) { return t.slice(d, first, last, step); });
}

Tensor Tensor::narrow(int64_t dim_arg, int64_t start, int64_t length) const {
  const int64_t d = normalize_dim("narrow", dim_arg, dim(), shape());
  check(start >= 0 && length >= 0 && start + length <= shape()[d], "narrow: start ", start, " length ", length,
        " out of bounds for dim ", dim_arg, " of shape ", shape());
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t dim_arg, int64_t index) const {
  const int64_t d = normalize_dim("select", dim_arg, dim(), shape());
  const int64_t i = index < 0 ? index + shape()[d] : index;
  check(0 <= i && i < shape()[d], "select: index ", index, " out of bounds for dim ", dim_arg, " of shape ", shape());
  Shape new_shape = shape(), new_strides = strides();
  new_shape.erase(new_shape.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  Tensor y = as_strided_view(*this, new_shape, new_strides, offset() + i * strides()[d]);
  return record_sub_view("select", *this, y, [=](const Tensor& t) { return t.select(d, i); });
}

Tensor Tensor::expand(const Shape& requested) const {
  // -1 keeps the existing size of that dim.
  Shape shape = requested;
  const int64_t lead = static_cast<int64_t>(shape.size()) - dim();
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (shape[d] == -1) {
      check(d >= lead, "expand: -1 not allowed for a new leading dim in ", requested, " (input ", this->shape(), ")");
      shape[d] = this->shape()[d - lead];
    }
    // Any other negative size would pass expand_view's "size 1 repeats" rule
    // and make a tensor with a negative numel.
    check(shape[d] >= 0, "expand: invalid size ", shape[d], " in shape ", requested, " (input ", this->shape(), ")");
  }
  Tensor y = expand_view("expand", *this, shape);
  record_differentiable("expand", {*this}, y, [x_shape = this->shape()](const Tensor& dy) { return TensorList{sum_to(dy, x_shape)}; });
  return y;
}

Tensor Tensor::unsqueeze(int64_t dim_arg) const {
  const int64_t d = normalize_dim("unsqueeze", dim_arg, dim() + 1, shape());
  Shape new_shape = shape(), new_strides = strides();
  // Any stride works for a size-1 dim; this one keeps contiguous tensors contiguous.
  const int64_t stride = d < dim() ? strides()[d] * shape()[d] : 1;
  new_shape.insert(new_shape.begin() + d, 1);
  new_strides.insert(new_strides.begin() + d, stride);
  return record_reshape("unsqueeze", *this, as_strided_view(*this, new_shape, new_strides, offset()));
}

Tensor Tensor::squeeze(int64_t dim_arg) const {
  const int64_t d = normalize_dim("squeeze", dim_arg, dim(), shape());
  if (shape()[d] != 1) return *this;  // as PyTorch: squeezing a non-1 dim is a no-op
  Shape new_shape = shape(), new_strides = strides();
  new_shape.erase(new_shape.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  return record_reshape("squeeze", *this, as_strided_view(*this, new_shape, new_strides, offset()));
}

Tensor Tensor::squeeze() const {
  Shape new_shape, new_strides;
  for (int64_t d = 0; d < dim(); ++d) {
    if (shape()[d] == 1) continue;
    new_shape.push_back(shape()[d]);
    new_strides.push_back(strides()[d]);
  }
  return record_reshape("squeeze", *this, as_strided_view(*this, new_shape, new_strides, offset()));
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

// y = x (a fresh contiguous copy);  dx = dy
Tensor Tensor::clone() const {
  Tensor y = Tensor::empty(shape(), dtype(), device());
  backend(device()).copy(*this, y);
  record_differentiable("clone", {*this}, y, [](const Tensor& dy) { return TensorList{dy}; });
  return y;
}

// y = x converted;  dx = dy converted back (float32 <-> float64 only)
Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor y = Tensor::empty(shape(), target, device());
  backend(device()).copy(*this, y);
  if (is_floating(dtype()) && is_floating(target)) {
    record_differentiable("to", {*this}, y, [source = dtype()](const Tensor& dy) { return TensorList{dy.to(source)}; });
  } else {
    mark_non_differentiable("to", {*this}, y);
  }
  return y;
}

// y = x on another device;  dx = dy moved back to x's device
Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  // The transfer moves one contiguous block of bytes, so a strided view is
  // packed on its own device first.
  Tensor packed = *this;
  if (!is_contiguous()) {
    packed = Tensor::empty(shape(), dtype(), device());
    backend(device()).copy(*this, packed);
  }
  Tensor y = Tensor::empty(shape(), dtype(), target);
  const size_t nbytes = static_cast<size_t>(numel()) * dtype_size(dtype());
  const size_t at = static_cast<size_t>(packed.offset()) * dtype_size(dtype());
  if (device().is_cpu()) {
    backend(target).copy_from_host(packed.raw_data(), *y.storage(), 0, nbytes);
  } else if (target.is_cpu()) {
    backend(device()).copy_to_host(*packed.storage(), at, y.raw_data(), nbytes);
  } else {  // between two GPUs: through the host (rare; no peer access needed)
    std::vector<char> staging(nbytes);
    backend(device()).copy_to_host(*packed.storage(), at, staging.data(), nbytes);
    backend(target).copy_from_host(staging.data(), *y.storage(), 0, nbytes);
  }
  record_differentiable("to", {*this}, y, [source = device()](const Tensor& dy) { return TensorList{dy.to(source)}; });
  return y;
}

// y = [x0; x1; ...] along dim;  dx_i = the matching slice of dy
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim_arg) {
  check(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  const int64_t d = normalize_dim("cat", dim_arg, first.dim(), first.shape());
  Shape shape = first.shape();
  shape[d] = 0;
  for (const Tensor& t : tensors) {
    Shape expected = first.shape();
    expected[d] = t.dim() == first.dim() ? t.shape()[d] : -1;
    check(t.shape() == expected, "cat: shapes ", first.shape(), " and ", t.shape(), " differ outside dim ", dim_arg);
    check(t.dtype() == first.dtype() && t.device() == first.device(), "cat: tensors ", first.shape(), " ",
          first.dtype(), " on ", first.device(), " and ", t.shape(), " ", t.dtype(), " on ", t.device(), " differ");
    shape[d] += t.shape()[d];
  }
  Tensor y = Tensor::empty(shape, first.dtype(), first.device());
  std::vector<int64_t> starts, sizes;
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    starts.push_back(start);
    sizes.push_back(t.shape()[d]);
    backend(y.device()).copy(t, as_strided_view(y, t.shape(), y.strides(), start * y.strides()[d]));
    start += t.shape()[d];
  }
  record_differentiable("cat", tensors, y, [d, starts, sizes](const Tensor& dy) {
    TensorList grads;
    for (size_t i = 0; i < starts.size(); ++i) grads.push_back(dy.narrow(d, starts[i], sizes[i]));
    return grads;
  });
  return y;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim_arg) {
  check(!tensors.empty(), "stack: expected at least one tensor");
  const int64_t d = normalize_dim("stack", dim_arg, tensors[0].dim() + 1, tensors[0].shape());
  std::vector<Tensor> unsqueezed;
  for (const Tensor& t : tensors) {
    check(t.shape() == tensors[0].shape(), "stack: shapes ", tensors[0].shape(), " and ", t.shape(), " differ");
    unsqueezed.push_back(t.unsqueeze(d));
  }
  return cat(unsqueezed, d);
}

}  // namespace dl
