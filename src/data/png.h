// png.h — writing images as PNG files, and torchvision's save_image, so that
// the apps' sample grids (common/image_grid.h) look exactly like the ones a
// PyTorch run of the same model saves.
//
// The encoder is the minimal valid PNG: 8-bit greyscale or RGB, no alpha, no
// interlacing, no ancillary chunks. Each scanline gets the PNG filter
// (None/Sub/Up/Average/Paeth) with the smallest sum of absolute signed
// residuals — the heuristic the PNG specification recommends and libpng uses
// — and the filtered bytes go through zlib_compress (data/compress.h). Every
// file is written with write_file_atomic, so a crash never leaves a
// half-written image under the real name.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace dl {

// Writes `pixels` (row-major, `channels` interleaved bytes per pixel:
// 1 = grey, 3 = RGB) as an 8-bit PNG. Throws Error naming `path` on a bad
// size or channel count, or when the file cannot be written.
void write_png(const std::string& path, const uint8_t* pixels, int64_t width, int64_t height, int channels);

// Saves one image: [C, H, W] with C = 1 (grey) or 3 (RGB), or [H, W] (grey).
// float32/float64 values are taken as [0, 1] and converted as torchvision's
// save_image does — value * 255 + 0.5, clamped to [0, 255], truncated, in
// the tensor's own precision, so the bytes match PyTorch's; NaN becomes 0.
// uint8 values are written as they are. Any layout or device.
// (torchvision writes a 1-channel image as RGB; we write it as a grey PNG,
// which decodes to the same pixels and is a third of the size.)
void save_image(const std::string& path, const Tensor& image);

}  // namespace dl
