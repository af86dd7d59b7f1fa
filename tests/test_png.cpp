// test_png.cpp — data/png.h: PNG files decoded by the minimal decoder below
// (chunks, CRCs, zlib header and Adler-32, the five scanline filters) give
// back exactly the pixels written; save_image converts like torchvision.
// The apps' common/image_grid.h, tested here for the decoder: make_grid lays
// images out like torchvision.utils.make_grid.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <string>

#include "common/image_grid.h"
#include "data/checksum.h"
#include "data/compress.h"
#include "data/file.h"
#include "data/png.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

struct DecodedPng {
  int64_t width = 0, height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;      // row-major, channels interleaved
  std::vector<std::string> chunks;  // chunk types in file order
  std::set<int> filters;            // scanline filter types used
};

// A minimal PNG decoder for 8-bit grey / RGB, non-interlaced files: what a
// real reader would check, done independently of png.cpp.
DecodedPng decode_png(const std::vector<uint8_t>& file) {
  DecodedPng out;
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(file.size() >= 8);
  REQUIRE(std::equal(signature, signature + 8, file.begin()));
  std::vector<uint8_t> idat;
  size_t at = 8;
  while (at < file.size()) {
    REQUIRE(at + 12 <= file.size());
    const uint32_t length = be32(&file[at]);
    REQUIRE(at + 12 + length <= file.size());
    const std::string type(file.begin() + at + 4, file.begin() + at + 8);
    const uint8_t* data = &file[at + 8];
    // The CRC covers the type and the data, not the length.
    CHECK_MESSAGE(be32(data + length) == crc32(&file[at + 4], 4 + length), "bad CRC on chunk ", type);
    out.chunks.push_back(type);
    if (type == "IHDR") {
      REQUIRE(length == 13);
      out.width = be32(data);
      out.height = be32(data + 4);
      CHECK(data[8] == 8);                      // bit depth
      REQUIRE((data[9] == 0 || data[9] == 2));  // grey or RGB
      out.channels = data[9] == 0 ? 1 : 3;
      CHECK(data[10] == 0);  // deflate
      CHECK(data[11] == 0);  // adaptive filtering
      CHECK(data[12] == 0);  // not interlaced
    } else if (type == "IDAT") {
      idat.insert(idat.end(), data, data + length);
    }
    at += 12 + length;
  }
  REQUIRE(!out.chunks.empty());
  CHECK(out.chunks.front() == "IHDR");
  CHECK(out.chunks.back() == "IEND");
  CHECK(at == file.size());  // nothing after IEND

  // The zlib wrapper (RFC 1950): deflate, window <= 32 KiB, check bits, no
  // preset dictionary; the Adler-32 of the inflated bytes at the end.
  REQUIRE(idat.size() >= 6);
  CHECK((idat[0] & 0x0F) == 8);
  CHECK((idat[0] >> 4) <= 7);
  CHECK((idat[0] * 256 + idat[1]) % 31 == 0);
  CHECK((idat[1] & 0x20) == 0);
  const std::vector<uint8_t> raw = zlib_decompress(idat.data(), idat.size(), "test.png");
  CHECK(be32(&idat[idat.size() - 4]) == adler32(raw.data(), raw.size()));

  const size_t bpp = static_cast<size_t>(out.channels);
  const size_t row_bytes = static_cast<size_t>(out.width) * bpp;
  REQUIRE(raw.size() == static_cast<size_t>(out.height) * (row_bytes + 1));
  out.pixels.resize(static_cast<size_t>(out.height) * row_bytes);
  for (int64_t y = 0; y < out.height; ++y) {
    const uint8_t filter = raw[static_cast<size_t>(y) * (row_bytes + 1)];
    REQUIRE(filter <= 4);
    out.filters.insert(filter);
    const uint8_t* in = &raw[static_cast<size_t>(y) * (row_bytes + 1) + 1];
    uint8_t* row = &out.pixels[static_cast<size_t>(y) * row_bytes];
    const uint8_t* prior = y > 0 ? row - row_bytes : nullptr;
    for (size_t i = 0; i < row_bytes; ++i) {
      const int a = i >= bpp ? row[i - bpp] : 0, b = prior ? prior[i] : 0, c = prior && i >= bpp ? prior[i - bpp] : 0;
      int predicted = 0;
      if (filter == 1) predicted = a;
      if (filter == 2) predicted = b;
      if (filter == 3) predicted = (a + b) / 2;
      if (filter == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      row[i] = static_cast<uint8_t>(in[i] + predicted);
    }
  }
  return out;
}

// t has `shape` and exactly the `expected` values (layout is exact, so no tolerance).
void check_exact(const Tensor& t, const Shape& shape, const Values& expected) {
  REQUIRE(t.shape() == shape);
  CHECK(vals(t) == expected);
}

DecodedPng read_png(const std::string& path) { return decode_png(read_file(path)); }

// Pixels that make different filters win on different rows: flat rows,
// horizontal and vertical ramps, and noise.
std::vector<uint8_t> test_pattern(int64_t width, int64_t height, int channels) {
  std::vector<uint8_t> pixels(static_cast<size_t>(width * height * channels));
  uint32_t state = 12345;
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c) {
        uint8_t v;
        switch (y % 4) {
          case 0:
            v = static_cast<uint8_t>(7 * x + 50 * c);
            break;  // horizontal ramp
          case 1:
            v = static_cast<uint8_t>(3 * y + c);
            break;  // flat row
          case 2:
            v = static_cast<uint8_t>(5 * y + x / 3 + c);
            break;
          default:
            state = state * 1664525u + 1013904223u;
            v = static_cast<uint8_t>(state >> 24);
            break;
        }
        pixels[static_cast<size_t>((y * width + x) * channels + c)] = v;
      }
  return pixels;
}

}  // namespace

TEST_CASE("write_png: grey and RGB files decode to exactly the pixels written") {
  TempDir dir;
  for (int channels : {1, 3})
    for (auto [w, h] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 5}, {33, 17}, {300, 40}}) {
      CAPTURE(channels);
      CAPTURE(w);
      CAPTURE(h);
      const std::vector<uint8_t> pixels = test_pattern(w, h, channels);
      const std::string path = dir.file("p.png");
      write_png(path, pixels.data(), w, h, channels);
      const DecodedPng png = read_png(path);
      CHECK(png.chunks == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
      CHECK(png.width == w);
      CHECK(png.height == h);
      CHECK(png.channels == channels);
      CHECK(png.pixels == pixels);
      // The adaptive filter choice really varies, so the decoder's
      // unfiltering (and the encoder's filtering) is exercised.
      if (h >= 17) CHECK(png.filters.size() >= 3);
    }
}

TEST_CASE("write_png: the fixed bytes of a 1x1 grey file, and compression of a smooth image") {
  TempDir dir;
  const uint8_t black = 0;
  write_png(dir.file("1x1.png"), &black, 1, 1, 1);
  const std::vector<uint8_t> file = read_file(dir.file("1x1.png"));
  // Signature, then IHDR: length 13, 1 x 1, depth 8, colour type 0, and its
  // CRC (python3: hex(zlib.crc32(b"IHDR" + bytes.fromhex("00000001000000010800000000")))).
  const std::vector<uint8_t> head = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I',  'H',  'D',  'R', 0,
                                     0,    0,   1,   0,   0,    0,    1,    8,    0, 0, 0, 0,  0x3A, 0x7E, 0x9B, 0x55};
  REQUIRE(file.size() > head.size() + 12);
  CHECK(std::vector<uint8_t>(file.begin(), file.begin() + head.size()) == head);
  // IEND is always the same 12 bytes.
  const std::vector<uint8_t> iend = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  CHECK(std::vector<uint8_t>(file.end() - 12, file.end()) == iend);

  // A 256 x 256 RGB gradient filters to near-constant rows: the file must be
  // far smaller than the 192 KiB of pixels.
  std::vector<uint8_t> gradient(256 * 256 * 3);
  for (size_t i = 0; i < gradient.size(); ++i) gradient[i] = static_cast<uint8_t>((i / 3) % 256 + (i / 768) * (i % 3));
  write_png(dir.file("gradient.png"), gradient.data(), 256, 256, 3);
  CHECK(read_file(dir.file("gradient.png")).size() < 8000);
  CHECK(read_png(dir.file("gradient.png")).pixels == gradient);
}

TEST_CASE("write_png: errors name the path") {
  TempDir dir;
  const std::string path = dir.file("bad.png");
  const uint8_t pixel[4] = {};
  CHECK_THROWS_WITH_AS(write_png(path, pixel, 1, 1, 4),
                       ("write_png: " + path + ": channels must be 1 (grey) or 3 (RGB), got 4").c_str(), Error);
  CHECK_THROWS_WITH_AS(write_png(path, pixel, 0, 1, 1),
                       ("write_png: " + path + ": width and height must be in [1, 2^31 - 1], got 0 x 1").c_str(),
                       Error);
  CHECK_THROWS_AS(write_png(path, pixel, int64_t(1) << 31, 1, 1), Error);
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_THROWS_WITH_AS(write_png(dir.file("no/such/dir.png"), pixel, 1, 1, 1),
                       (dir.file("no/such/dir.png") + ": cannot write: No such file or directory").c_str(), Error);
}

TEST_CASE("save_image: floats convert like torchvision (x * 255 + 0.5, clamped, truncated)") {
  TempDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // Expected bytes worked out by hand from torchvision's formula in float32:
  // 0.5 -> 127.5 + 0.5 = 128; 0.25 -> 64.25 -> 64; 0.1 -> 25.5000004 + 0.5 -> 26;
  // 0.002 -> 1.01 -> 1; 0.0019 -> 0.9845 -> 0; out of range clamps; NaN -> 0.
  const Values in = {0, 1, 0.5, 0.25, 0.1, 0.002, 0.0019, -0.3, 1.7, nan, inf, -inf};
  const std::vector<uint8_t> expected = {0, 255, 128, 64, 26, 1, 0, 0, 255, 0, 255, 0};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    save_image(dir.file("f.png"), tensor(in, {1, 3, 4}, dtype));
    const DecodedPng png = read_png(dir.file("f.png"));
    CHECK(png.channels == 1);
    CHECK(png.width == 4);
    CHECK(png.height == 3);
    CHECK(png.pixels == expected);
    // [H, W] is a grey image too.
    save_image(dir.file("hw.png"), tensor(in, {3, 4}, dtype));
    CHECK(read_png(dir.file("hw.png")).pixels == expected);
  }
}

TEST_CASE("save_image: RGB planes are interleaved; uint8 is written as is; any layout") {
  TempDir dir;
  // [3, 2, 2]: channel c, pixel p holds 100 * c + p.
  const Tensor rgb = tensor({0, 1, 2, 3, 100, 101, 102, 103, 200, 201, 202, 203}, {3, 2, 2}, DType::UInt8);
  save_image(dir.file("rgb.png"), rgb);
  DecodedPng png = read_png(dir.file("rgb.png"));
  CHECK(png.channels == 3);
  CHECK(png.pixels == std::vector<uint8_t>{0, 100, 200, 1, 101, 201, 2, 102, 202, 3, 103, 203});

  // A transposed (non-contiguous) view is read through its strides: pixel
  // (y, x) of the view is (x, y) of the original.
  save_image(dir.file("t.png"), rgb.transpose(1, 2));
  png = read_png(dir.file("t.png"));
  CHECK(png.pixels == std::vector<uint8_t>{0, 100, 200, 2, 102, 202, 1, 101, 201, 3, 103, 203});
}

TEST_CASE("save_image: errors name the path and the shape or dtype") {
  TempDir dir;
  const std::string path = dir.file("e.png");
  CHECK_THROWS_WITH_AS(save_image(path, zeros({2, 3, 4, 5})),
                       ("save_image: " + path + ": image must be [C, H, W] or [H, W], got shape [2, 3, 4, 5]").c_str(),
                       Error);
  CHECK_THROWS_WITH_AS(
      save_image(path, zeros({2, 4, 5})),
      ("save_image: " + path + ": image must have 1 (grey) or 3 (RGB) channels, got shape [2, 4, 5]").c_str(), Error);
  CHECK_THROWS_WITH_AS(
      save_image(path, zeros({4, 5}, DType::Int64)),
      ("save_image: " + path + ": image must be float32/float64 in [0, 1] or uint8, got int64").c_str(), Error);
  CHECK_THROWS_WITH_AS(save_image(path, zeros({1, 0, 5})),
                       ("save_image: " + path + ": image is empty, shape [1, 0, 5]").c_str(), Error);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("make_grid: a tiny case written out by hand") {
  // Three 1x1 grey images a, b, c; nrow 2, padding 1: xmaps 2, ymaps 2, the
  // grid is 2 * (1 + 1) + 1 = 5 square, RGB, image (y, x) at [2y + 1, 2x + 1].
  const Tensor images = tensor({0.25, 0.5, 0.75}, {3, 1, 1, 1});
  const Tensor grid = make_grid(images, 2, 1);
  const Values plane = {0, 0,   0, 0,  0,  //
                        0, .25, 0, .5, 0,  //
                        0, 0,   0, 0,  0,  //
                        0, .75, 0, 0,  0,  //
                        0, 0,   0, 0,  0};
  Values expected;
  for (int c = 0; c < 3; ++c) expected.insert(expected.end(), plane.begin(), plane.end());
  CHECK(grid.dtype() == DType::Float32);
  check_exact(grid, {3, 5, 5}, expected);
}

TEST_CASE("make_grid: matches torchvision's layout algorithm, pad value and all") {
  // torchvision.utils.make_grid: xmaps = min(nrow, N), ymaps = ceil(N / xmaps),
  // cells of (H + padding) x (W + padding), the grid
  // [C, ymaps * (H + padding) + padding, xmaps * (W + padding) + padding]
  // filled with pad_value, image k = y * xmaps + x copied to
  // [y * (H + padding) + padding, x * (W + padding) + padding].
  struct Case {
    int64_t n, c, h, w, nrow, padding;
    double pad;
  };
  for (const Case& t : {Case{5, 1, 2, 3, 2, 1, 0.5}, Case{7, 3, 3, 2, 3, 2, 1.0}, Case{3, 3, 2, 2, 8, 0, 0.0},
                        Case{10, 1, 4, 4, 10, 2, 0.0}}) {
    CAPTURE(t.n);
    const Tensor images = iota({t.n, t.c, t.h, t.w}, DType::Float32) + 1.0;  // no value equals a pad value
    const Tensor grid = make_grid(images, t.nrow, t.padding, t.pad);
    const int64_t channels = t.c == 1 ? 3 : t.c;
    const int64_t xmaps = std::min(t.nrow, t.n), ymaps = (t.n + xmaps - 1) / xmaps;
    const int64_t gh = ymaps * (t.h + t.padding) + t.padding, gw = xmaps * (t.w + t.padding) + t.padding;
    Values expected(static_cast<size_t>(channels * gh * gw), t.pad);
    const Values in = vals(images);
    for (int64_t k = 0; k < t.n; ++k)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t i = 0; i < t.h; ++i)
          for (int64_t j = 0; j < t.w; ++j) {
            const int64_t row = (k / xmaps) * (t.h + t.padding) + t.padding + i;
            const int64_t col = (k % xmaps) * (t.w + t.padding) + t.padding + j;
            const int64_t source_c = t.c == 1 ? 0 : c;  // one channel repeated three times
            expected[static_cast<size_t>((c * gh + row) * gw + col)] =
                in[static_cast<size_t>(((k * t.c + source_c) * t.h + i) * t.w + j)];
          }
    check_exact(grid, {channels, gh, gw}, expected);
  }
}

TEST_CASE("make_grid: a single image comes back unpadded; dtype kept; errors") {
  const Tensor one = tensor({0.1, 0.2, 0.3, 0.4}, {1, 1, 2, 2}, DType::Float64);
  const Tensor grid = make_grid(one, 8, 2);
  CHECK(grid.dtype() == DType::Float64);
  check_exact(grid, {3, 2, 2}, {0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4});
  check_exact(make_grid(tensor({9, 8}, {2, 1, 1, 1}, DType::UInt8), 8, 1, 255), {3, 3, 5},
              {255, 255, 255, 255, 255, 255, 9, 255, 8, 255, 255, 255, 255, 255, 255,  //
               255, 255, 255, 255, 255, 255, 9, 255, 8, 255, 255, 255, 255, 255, 255,  //
               255, 255, 255, 255, 255, 255, 9, 255, 8, 255, 255, 255, 255, 255, 255});
  // The grid is a picture, not part of a graph.
  CHECK_FALSE(make_grid(leaf(zeros({2, 1, 2, 2}, DType::Float64)), 2).requires_grad());

  CHECK_THROWS_WITH_AS(make_grid(zeros({3, 4, 4})), "make_grid: images must be 4-D [N, C, H, W], got shape [3, 4, 4]",
                       Error);
  CHECK_THROWS_WITH_AS(make_grid(zeros({0, 1, 4, 4})), "make_grid: empty batch, shape [0, 1, 4, 4]", Error);
  CHECK_THROWS_WITH_AS(make_grid(zeros({2, 1, 4, 4}), 0), "make_grid: nrow must be >= 1, got 0", Error);
  CHECK_THROWS_WITH_AS(make_grid(zeros({2, 1, 4, 4}), 8, -1), "make_grid: padding must be >= 0, got -1", Error);
}

TEST_CASE("save_image_grid: a 10 x 10 grid of 28 x 28 digits, as the InfoGAN app saves it") {
  TempDir dir;
  const std::string path = dir.file("grid.png");
  Generator gen(7);
  const Tensor images = rand({100, 1, 28, 28}, DType::Float32, &gen);
  save_image_grid(path, images, 10);
  const DecodedPng png = read_png(path);
  CHECK(png.width == 302);  // 10 * (28 + 2) + 2
  CHECK(png.height == 302);
  CHECK(png.channels == 3);
  // Byte for byte what save_image makes of make_grid's tensor.
  save_image(dir.file("direct.png"), make_grid(images, 10));
  CHECK(read_file(path) == read_file(dir.file("direct.png")));
  // Image 13 (row 1, column 3) starts at pixel (32, 92); spot-check it.
  const std::vector<float> values = images.to_vector<float>();
  for (int64_t i : {0, 5, 27})
    for (int64_t j : {0, 13, 27}) {
      const float v = values[static_cast<size_t>(13 * 784 + i * 28 + j)];
      volatile float scaled = v * 255.0f;  // two roundings, as in torch: no FMA
      const uint8_t byte = static_cast<uint8_t>(std::min(255.0f, scaled + 0.5f));
      const size_t at = static_cast<size_t>(((32 + i) * 302 + 92 + j) * 3);
      CHECK(png.pixels[at] == byte);
      CHECK(png.pixels[at + 2] == byte);
    }
  CHECK(png.pixels[0] == 0);  // padding

  CHECK_THROWS_WITH_AS(
      save_image_grid(path, zeros({3, 28, 28})),
      ("save_image_grid: " + path + ": make_grid: images must be 4-D [N, C, H, W], got shape [3, 28, 28]").c_str(),
      Error);
  CHECK_THROWS_WITH_AS(
      save_image_grid(path, zeros({4, 2, 5, 5})),
      ("save_image: " + path + ": image must have 1 (grey) or 3 (RGB) channels, got shape [2, 9, 30]").c_str(), Error);
}
