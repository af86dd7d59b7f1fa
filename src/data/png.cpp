// png.cpp — see png.h. The PNG layout (ISO/IEC 15948, RFC 2083):
//   8-byte signature, then chunks: 4-byte big-endian data length, 4-byte type,
//   data, CRC-32 over type + data. We write IHDR, one IDAT, IEND.
#include "data/png.h"

#include <array>
#include <cstdlib>
#include <limits>
#include <vector>

#include "data/checksum.h"
#include "data/compress.h"
#include "data/file.h"
#include "tensor/error.h"

namespace dl {

namespace {

void put_u32(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

void put_chunk(std::vector<uint8_t>& out, const char (&type)[5], const std::vector<uint8_t>& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_u32(out, crc32(out.data() + type_at, 4 + data.size()));
}

// The Paeth predictor: whichever of left, up, upper-left is closest to
// left + up - upper-left, ties in that order (PNG spec 9.4).
uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
  if (pb <= pc) return static_cast<uint8_t>(b);
  return static_cast<uint8_t>(c);
}

// Appends filter byte + filtered `row` to `out`, choosing the filter type
// whose residuals, read as signed bytes, have the smallest sum of absolute
// values: small residuals mean long runs of near-zero bytes that deflate well.
// `prior` is the previous raw row (all zero for the first row, as the spec says).
void filter_row(const uint8_t* row, const uint8_t* prior, size_t row_bytes, size_t bpp, std::vector<uint8_t>& out) {
  std::array<std::vector<uint8_t>, 5> candidates;
  size_t best = 0;
  uint64_t best_cost = std::numeric_limits<uint64_t>::max();
  for (size_t type = 0; type < 5; ++type) {
    std::vector<uint8_t>& f = candidates[type];
    f.resize(row_bytes);
    uint64_t cost = 0;
    for (size_t i = 0; i < row_bytes; ++i) {
      const int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
      int predicted = 0;
      switch (type) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = a;
          break;
        case 2:
          predicted = b;
          break;
        case 3:
          predicted = (a + b) / 2;
          break;
        default:
          predicted = paeth(a, b, c);
          break;
      }
      f[i] = static_cast<uint8_t>(row[i] - predicted);  // modulo 256, as the spec defines
      cost += static_cast<uint64_t>(std::abs(static_cast<int>(static_cast<int8_t>(f[i]))));
    }
    if (cost < best_cost) best_cost = cost, best = type;
  }
  out.push_back(static_cast<uint8_t>(best));
  out.insert(out.end(), candidates[best].begin(), candidates[best].end());
}

// torchvision's save_image: tensor.mul(255).add_(0.5).clamp_(0, 255).to(uint8),
// each step rounded in T as PyTorch's kernels do. The volatile keeps the
// compiler from fusing the multiply and add into one FMA (one rounding
// instead of two), which on FMA targets could move a value across a .5.
template <typename T>
uint8_t to_byte(T value) {
  volatile T scaled = value * T(255);
  const T shifted = scaled + T(0.5);
  if (!(shifted >= T(0))) return 0;  // also NaN
  if (shifted >= T(255)) return 255;
  return static_cast<uint8_t>(shifted);  // truncates, like the cast to uint8
}

template <typename T>
std::vector<uint8_t> to_bytes(const Tensor& image) {
  const std::vector<T> values = image.to_vector<T>();
  std::vector<uint8_t> bytes(values.size());
  for (size_t i = 0; i < values.size(); ++i) bytes[i] = to_byte(values[i]);
  return bytes;
}

}  // namespace

void write_png(const std::string& path, const uint8_t* pixels, int64_t width, int64_t height, int channels) {
  check(channels == 1 || channels == 3, "write_png: ", path, ": channels must be 1 (grey) or 3 (RGB), got ", channels);
  // PNG stores the size as 31-bit unsigned integers, and zero is not allowed.
  constexpr int64_t max_side = (int64_t(1) << 31) - 1;
  check(width >= 1 && height >= 1 && width <= max_side && height <= max_side, "write_png: ", path,
        ": width and height must be in [1, 2^31 - 1], got ", width, " x ", height);
  const size_t row_bytes = static_cast<size_t>(width) * static_cast<size_t>(channels);
  check(static_cast<size_t>(height) <= (std::numeric_limits<size_t>::max() / 2) / (row_bytes + 1), "write_png: ", path,
        ": image of ", width, " x ", height, " is too large");
  check(pixels != nullptr, "write_png: ", path, ": no pixel data");

  std::vector<uint8_t> filtered;
  filtered.reserve(static_cast<size_t>(height) * (row_bytes + 1));
  const std::vector<uint8_t> zero_row(row_bytes, 0);
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = pixels + static_cast<size_t>(y) * row_bytes;
    const uint8_t* prior = y == 0 ? zero_row.data() : row - row_bytes;
    filter_row(row, prior, row_bytes, static_cast<size_t>(channels), filtered);
  }

  std::vector<uint8_t> header;
  put_u32(header, static_cast<uint32_t>(width));
  put_u32(header, static_cast<uint32_t>(height));
  header.push_back(8);                      // bit depth
  header.push_back(channels == 1 ? 0 : 2);  // colour type: greyscale / truecolour
  header.push_back(0);                      // compression: deflate
  header.push_back(0);                      // filter method: adaptive, five types
  header.push_back(0);                      // no interlace

  std::vector<uint8_t> file = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  put_chunk(file, "IHDR", header);
  put_chunk(file, "IDAT", zlib_compress(filtered.data(), filtered.size()));
  put_chunk(file, "IEND", {});
  write_file_atomic(path, file.data(), file.size());
}

void save_image(const std::string& path, const Tensor& image) {
  check(image.defined(), "save_image: ", path, ": the image tensor is undefined");
  const Shape& shape = image.shape();
  check(image.dim() == 2 || image.dim() == 3, "save_image: ", path, ": image must be [C, H, W] or [H, W], got shape ",
        shape);
  const int64_t channels = image.dim() == 3 ? shape[0] : 1;
  const int64_t height = shape[image.dim() - 2], width = shape[image.dim() - 1];
  check(channels == 1 || channels == 3, "save_image: ", path,
        ": image must have 1 (grey) or 3 (RGB) channels, got shape ", shape);
  check(height >= 1 && width >= 1, "save_image: ", path, ": image is empty, shape ", shape);

  std::vector<uint8_t> planar;  // [C, H, W] bytes
  switch (image.dtype()) {
    case DType::Float32:
      planar = to_bytes<float>(image);
      break;
    case DType::Float64:
      planar = to_bytes<double>(image);
      break;
    case DType::UInt8:
      planar = image.to_vector<uint8_t>();
      break;
    default:
      fail("save_image: ", path, ": image must be float32/float64 in [0, 1] or uint8, got ", image.dtype());
  }
  if (channels == 1) return write_png(path, planar.data(), width, height, 1);
  // PNG interleaves the channels of each pixel: [C, H, W] -> [H, W, C].
  const size_t plane = static_cast<size_t>(height) * static_cast<size_t>(width);
  std::vector<uint8_t> interleaved(planar.size());
  for (size_t i = 0; i < plane; ++i)
    for (size_t c = 0; c < 3; ++c) interleaved[i * 3 + c] = planar[c * plane + i];
  write_png(path, interleaved.data(), width, height, 3);
}

}  // namespace dl
