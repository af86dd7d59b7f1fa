// shape.h — shapes, strides and the small pieces of index arithmetic that
// views and broadcasting are built from.
//
// A tensor element at multi-index (i0, i1, ...) lives at
//     storage[offset + i0*stride0 + i1*stride1 + ...]
// so a view (transpose, slice, expand) only changes shape/strides/offset and
// never copies. Strides count elements, not bytes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace dl {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);

// Row-major strides: the last dim moves fastest.
Shape contiguous_strides(const Shape& shape);

// "[2, 3]"
std::string shape_str(const Shape& shape);

// NumPy broadcasting: align from the right; sizes must match or one be 1.
// Throws "<op>: shapes [2, 3] and [4] cannot be broadcast".
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

// Wraps a negative dim (-1 = last) and checks 0 <= dim < ndim; `ndim` is the
// rank the dim indexes into. Throws "<op>: dim 3 out of range for shape [2, 3]".
int64_t normalize_dim(const char* op, int64_t dim, int64_t ndim, const Shape& shape);

// The dims to reduce over, normalised, sorted and unique; empty means all.
std::vector<int64_t> normalize_dims(const char* op, const std::vector<int64_t>& dims, const Shape& shape);

}  // namespace dl

// Printing a shape through operator<< uses the same "[2, 3]" form. It is in
// namespace std because Shape is a std::vector and argument-dependent lookup
// only searches std for operator<<.
namespace std {
inline ostream& operator<<(ostream& os, const dl::Shape& shape) { return os << dl::shape_str(shape); }
}  // namespace std
