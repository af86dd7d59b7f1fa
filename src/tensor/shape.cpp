// shape.cpp — see shape.h.
#include "tensor/shape.h"

#include <algorithm>

#include "tensor/error.h"

namespace dl {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t size : shape) n *= size;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= std::max<int64_t>(shape[d], 1);
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d) {
    if (d) s += ", ";
    s += std::to_string(shape[d]);
  }
  return s + "]";
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const size_t ndim = std::max(a.size(), b.size());
  Shape out(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    // Align from the right: a missing leading dim acts as size 1.
    const int64_t sa = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
    const int64_t sb = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
    check(sa == sb || sa == 1 || sb == 1, op, ": shapes ", a, " and ", b, " cannot be broadcast");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

int64_t normalize_dim(const char* op, int64_t dim, int64_t ndim, const Shape& shape) {
  const int64_t wrapped = dim < 0 ? dim + ndim : dim;
  check(wrapped >= 0 && wrapped < ndim, op, ": dim ", dim, " out of range for shape ", shape);
  return wrapped;
}

std::vector<int64_t> normalize_dims(const char* op, const std::vector<int64_t>& dims, const Shape& shape) {
  const int64_t ndim = static_cast<int64_t>(shape.size());
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t dim : dims) out.push_back(normalize_dim(op, dim, ndim, shape));
  std::sort(out.begin(), out.end());
  check(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": dim repeated in reduction over shape ",
        shape);
  return out;
}

}  // namespace dl
