// image_grid.cpp — see image_grid.h.
#include "common/image_grid.h"

#include <algorithm>

#include "data/png.h"
#include "tensor/error.h"

namespace dl {

Tensor make_grid(const Tensor& images_in, int64_t nrow, int64_t padding, double pad_value) {
  check(images_in.defined(), "make_grid: the images tensor is undefined");
  check(images_in.dim() == 4, "make_grid: images must be 4-D [N, C, H, W], got shape ", images_in.shape());
  check(nrow >= 1, "make_grid: nrow must be >= 1, got ", nrow);
  check(padding >= 0, "make_grid: padding must be >= 0, got ", padding);
  // A grid is a picture of the values, not part of any computation.
  const Tensor images = images_in.detach();
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  check(n >= 1, "make_grid: empty batch, shape ", images.shape());
  check(c >= 1 && h >= 1 && w >= 1, "make_grid: images are empty, shape ", images.shape());
  // torchvision repeats a single channel three times, so grids are RGB.
  const int64_t channels = c == 1 ? 3 : c;
  if (n == 1) {  // torchvision returns the lone image itself, with no padding
    Tensor single = Tensor::empty({channels, h, w}, images.dtype(), images.device());
    single.copy_(images.select(0, 0));
    return single;
  }

  const int64_t xmaps = std::min(nrow, n);
  const int64_t ymaps = (n + xmaps - 1) / xmaps;
  const int64_t cell_h = h + padding, cell_w = w + padding;
  Tensor grid =
      full({channels, ymaps * cell_h + padding, xmaps * cell_w + padding}, pad_value, images.dtype(), images.device());
  for (int64_t k = 0; k < n; ++k) {
    const int64_t y = k / xmaps, x = k % xmaps;
    // copy_ broadcasts, which repeats a 1-channel image over the 3 channels.
    grid.narrow(1, y * cell_h + padding, h).narrow(2, x * cell_w + padding, w).copy_(images.select(0, k));
  }
  return grid;
}

void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow, int64_t padding) {
  Tensor grid;
  try {
    grid = make_grid(images, nrow, padding);
  } catch (const Error& e) {
    fail("save_image_grid: ", path, ": ", e.what());
  }
  save_image(path, grid);
}

}  // namespace dl
