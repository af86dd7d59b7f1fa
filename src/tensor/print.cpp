// print.cpp — the repr behind Tensor::str(): PyTorch's (the rules of
// torch/_tensor_str.py with its default print options) followed by the
// metadata PyTorch leaves out when it is the default: shape, dtype, device.
//
//   tensor([[1.0000, 2.5000],
//           [3.0000, 4.0000]], shape=[2, 2], dtype=float32, device=cpu)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tensor/print.h"

namespace dl {

namespace {

// PyTorch's defaults: tensors with more than kThreshold elements are
// summarised, keeping kEdgeItems at each end of every dim longer than
// 2 * kEdgeItems; floats get kPrecision digits after the point.
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr int kPrecision = 4;

// The column where the first '[' lands: after "tensor(".
constexpr int kIndent = 7;

std::string printf_double(const char* format, int precision, double value) {
  int length = std::snprintf(nullptr, 0, format, precision, value);
  std::string text(static_cast<size_t>(length) + 1, '\0');
  std::snprintf(&text[0], text.size(), format, precision, value);
  text.pop_back();
  return text;
}

// Chooses one notation for all the values, so that they line up:
//  - integer mode ("1.", "-3."), when every finite value is a whole number;
//  - scientific ("1.0000e-05"), when the magnitudes span more than three
//    decades, exceed 1e8, or (outside integer mode) go below 1e-4;
//  - fixed ("0.1000") otherwise.
// Zeros and non-finite values take no part in the choice.
std::vector<std::string> format_floats(const std::vector<double>& values) {
  bool int_mode = true;
  double min_abs = INFINITY;
  double max_abs = 0.0;
  for (double value : values) {
    if (!std::isfinite(value) || value == 0.0) continue;
    if (value != std::ceil(value)) int_mode = false;
    min_abs = std::min(min_abs, std::fabs(value));
    max_abs = std::max(max_abs, std::fabs(value));
  }
  bool any = max_abs > 0.0;
  bool sci_mode = any && (max_abs / min_abs > 1000.0 || max_abs > 1.0e8 || (!int_mode && min_abs < 1.0e-4));

  std::vector<std::string> cells;
  cells.reserve(values.size());
  for (double value : values) {
    // printf would write "-nan" for a negative NaN; Python (and PyTorch) never do.
    if (std::isnan(value)) {
      cells.push_back("nan");
    } else if (std::isinf(value)) {
      cells.push_back(value > 0 ? "inf" : "-inf");
    } else if (sci_mode) {
      cells.push_back(printf_double("%.*e", kPrecision, value));
    } else if (int_mode) {
      // The trailing point says "floating" without spending digits on it.
      cells.push_back(printf_double("%.*f", 0, value) + ".");
    } else {
      cells.push_back(printf_double("%.*f", kPrecision, value));
    }
  }
  return cells;
}

// The elements that will be printed, in row-major order, as unpadded text.
// `source` is the tensor or, when summarising, a view holding only the edges.
std::vector<std::string> format_values(const Tensor& source) {
  if (is_floating(source.dtype())) return format_floats(source.to_vector<double>());
  std::vector<std::string> cells;
  if (source.dtype() == DType::Bool) {
    for (bool value : source.to_vector<bool>()) cells.push_back(value ? "True" : "False");
  } else {
    for (int64_t value : source.to_vector<int64_t>()) cells.push_back(std::to_string(value));
  }
  return cells;
}

// A view of just the elements a summary shows. Each dim of size n that is
// summarised becomes two dims, [2, kEdgeItems] with strides
// [(n - kEdgeItems) * s, s]: index (h, k) then reaches k or n - kEdgeItems + k,
// i.e. exactly the first and last kEdgeItems, in order. That way only the
// printed elements are ever copied off the device.
Tensor edges_view(const Tensor& tensor, const std::vector<bool>& summarised) {
  Shape shape, strides;
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    const int64_t size = tensor.shape()[d];
    const int64_t stride = tensor.strides()[d];
    if (summarised[d]) {
      shape.insert(shape.end(), {2, kEdgeItems});
      strides.insert(strides.end(), {(size - kEdgeItems) * stride, stride});
    } else {
      shape.push_back(size);
      strides.push_back(stride);
    }
  }
  return as_strided_view(tensor, shape, strides, tensor.offset());
}

// Lays out the padded cells of a tensor whose printed part has shape `shown`
// (row-major, `first` is the index of this sub-tensor's first cell).
// Rows of a matrix go on separate lines, matrices of a 3-D tensor are
// separated by one blank line, and so on; nested brackets line up under the
// outer ones. A summarised dim gets "..." between its two halves.
struct Layout {
  const std::vector<std::string>& cells;
  const Shape& shown;
  const std::vector<bool>& summarised;

  std::string render(size_t d, int64_t first, int indent) const {
    int64_t stride = shape_numel(Shape(shown.begin() + d + 1, shown.end()));
    bool last_dim = d + 1 == shown.size();
    std::string separator = last_dim ? ", " : "," + std::string(shown.size() - d - 1, '\n') + std::string(indent + 1, ' ');
    std::string text = "[";
    for (int64_t i = 0; i < shown[d]; ++i) {
      if (i > 0) text += separator;
      if (summarised[d] && i == kEdgeItems) text += (last_dim ? " ..." : "...") + separator;
      text += last_dim ? cells[first + i] : render(d + 1, first + i * stride, indent + 1);
    }
    return text + "]";
  }
};

std::string data_str(const Tensor& tensor) {
  if (tensor.numel() == 0) return "[]";
  bool summarise = tensor.numel() > kThreshold;
  std::vector<bool> summarised(tensor.dim());
  Shape shown = tensor.shape();
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    summarised[d] = summarise && shown[d] > 2 * kEdgeItems;
    if (summarised[d]) shown[d] = 2 * kEdgeItems;
  }

  std::vector<std::string> cells = format_values(summarise ? edges_view(tensor, summarised) : tensor);
  size_t width = 0;
  for (const std::string& cell : cells) width = std::max(width, cell.size());
  for (std::string& cell : cells) cell.insert(0, width - cell.size(), ' ');

  if (tensor.dim() == 0) return cells[0];
  return Layout{cells, shown, summarised}.render(0, 0, kIndent);
}

}  // namespace

std::string repr(const Tensor& tensor, const std::string& autograd_field) {
  std::string text = "tensor(" + data_str(tensor) + ", shape=" + shape_str(tensor.shape()) +
                     ", dtype=" + dtype_name(tensor.dtype()) + ", device=" + tensor.device().str();
  if (!autograd_field.empty()) text += ", " + autograd_field;
  return text + ")";
}

}  // namespace dl
