// image_grid.h — torchvision's make_grid and save_image(images, nrow=...):
// the apps' sample grids, laid out exactly as a PyTorch run of the same model
// lays them out, and written with save_image (data/png.h).
#pragma once

#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace dl {

// torchvision.utils.make_grid with normalize=False: lays the N images of
// [N, C, H, W] out in rows of `nrow`, `padding` pixels of `pad_value` around
// and between them. As in torchvision:
//   - C = 1 is repeated to 3 channels (the grid is RGB);
//   - xmaps = min(nrow, N), ymaps = ceil(N / xmaps), the grid is
//     [C, ymaps * (H + padding) + padding, xmaps * (W + padding) + padding],
//     image k = y * xmaps + x at row y * (H + padding) + padding, column
//     x * (W + padding) + padding; unused cells of the last row stay pad_value;
//   - a single image (N = 1) is returned as it is, without padding.
// Keeps the input's dtype and device; the input's values are not scaled.
Tensor make_grid(const Tensor& images, int64_t nrow = 8, int64_t padding = 2, double pad_value = 0.0);

// save_image(path, make_grid(images, nrow, padding)): what
// torchvision.utils.save_image(images, path, nrow=nrow, padding=padding) writes.
void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow = 8, int64_t padding = 2);

}  // namespace dl
