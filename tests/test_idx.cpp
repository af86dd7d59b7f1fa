// test_idx.cpp — data/idx.h (IDX parse/encode, raw and gzipped, hostile
// headers) and data/mnist.h (finding and checking the four MNIST files, on
// tiny MNIST-shaped files written here).
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

#include "data/compress.h"
#include "data/file.h"
#include "data/idx.h"
#include "data/mnist.h"
#include "helpers.h"

using namespace dl;
using namespace test;
using Bytes = std::vector<uint8_t>;

namespace {

// An IDX header: magic 00 00 type ndims, then the dims big-endian.
Bytes header(uint8_t type, const std::vector<uint32_t>& dims) {
  Bytes out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The raw bytes of each element, so float round-trips compare NaN payloads,
// -0 and denormals exactly.
template <typename T>
std::vector<uint64_t> bit_patterns(const std::vector<T>& values) {
  std::vector<uint64_t> out;
  for (T v : values) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    out.push_back(bits);
  }
  return out;
}

// doctest::Contains takes a C string; these messages are built as std::string.
doctest::Contains has(const std::string& text) { return doctest::Contains(text.c_str()); }

void write_bytes(const std::string& path, const Bytes& bytes) { write_file_atomic(path, bytes.data(), bytes.size()); }

}  // namespace

// ---- IDX ---------------------------------------------------------------------------

TEST_CASE("IDX round-trips every element type, raw and gzipped, to the expected dtype") {
  TempDir dir;
  constexpr double kMax32 = std::numeric_limits<int32_t>::max(), kMin32 = std::numeric_limits<int32_t>::min();
  struct Case {
    IdxType type;
    DType input, parsed;
    Values values;
  };
  const std::vector<Case> cases = {
      {IdxType::UInt8, DType::UInt8, DType::UInt8, {0, 1, 127, 128, 200, 255}},
      {IdxType::Int8, DType::Int64, DType::Int64, {-128, -1, 0, 1, 100, 127}},
      {IdxType::Int16, DType::Int64, DType::Int64, {-32768, -256, -1, 0, 256, 32767}},
      {IdxType::Int32, DType::Int64, DType::Int64, {kMin32, -65536, -1, 0, 65536, kMax32}},
  };
  for (const Case& c : cases) {
    for (const char* suffix : {"", ".gz"}) {
      CAPTURE(idx_type_name(c.type));
      CAPTURE(suffix);
      const std::string path = dir.file((std::string("t.idx") + suffix));
      const Tensor t = tensor(c.values, {2, 3}, c.input);
      write_idx(path, t, c.type);
      CHECK(is_gzip(read_file(path)) == (suffix[0] != '\0'));
      const Tensor back = read_idx(path);
      CHECK(back.dtype() == c.parsed);
      CHECK(back.shape() == Shape{2, 3});
      CHECK(vals(back) == c.values);
    }
  }

  // Floats, bit for bit: signed zero, a denormal, infinities, NaN, extremes.
  const std::vector<float> f32 = {-0.0f, 1.5f, std::numeric_limits<float>::denorm_min(),
                                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::max(),
                                  std::numeric_limits<float>::quiet_NaN(), 3.14159274f, -1e-30f};
  const std::vector<double> f64 = {-0.0, 1.5, std::numeric_limits<double>::denorm_min(),
                                   -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::max(),
                                   std::numeric_limits<double>::quiet_NaN(), 3.141592653589793, -1e-300};
  for (const char* suffix : {"", ".gz"}) {
    CAPTURE(suffix);
    const std::string p32 = dir.file((std::string("f32.idx") + suffix)), p64 = dir.file((std::string("f64.idx") + suffix));
    write_idx(p32, from_host(f32.data(), {2, 2, 2}, DType::Float32), IdxType::Float32);
    write_idx(p64, from_host(f64.data(), {8}, DType::Float64), IdxType::Float64);
    const Tensor b32 = read_idx(p32), b64 = read_idx(p64);
    CHECK(b32.dtype() == DType::Float32);
    CHECK(b32.shape() == Shape{2, 2, 2});
    CHECK(bit_patterns(b32.to_vector<float>()) == bit_patterns(f32));
    CHECK(b64.dtype() == DType::Float64);
    CHECK(b64.shape() == Shape{8});
    CHECK(bit_patterns(b64.to_vector<double>()) == bit_patterns(f64));
  }
}

TEST_CASE("IDX bytes are big-endian exactly as the format says") {
  // Round-trips alone would pass with a symmetric endianness mistake, so pin
  // the bytes: a [2] i16 {-2, 258} and a [1] f32 {1.0} and f64 {-2.0}.
  CHECK(encode_idx(int64s({-2, 258}), IdxType::Int16) == Bytes{0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x02});
  CHECK(encode_idx(tensor({1.0}), IdxType::Float32) == Bytes{0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0x80, 0, 0});
  CHECK(encode_idx(tensor({-2.0}), IdxType::Float64) ==
        Bytes{0, 0, 0x0E, 1, 0, 0, 0, 1, 0xC0, 0, 0, 0, 0, 0, 0, 0});
  // Dims are big-endian u32, the first dim first (MNIST's train images header).
  const Bytes mnist = header(0x08, {60000, 28, 28});
  CHECK(mnist == Bytes{0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 28, 0, 0, 0, 28});
  // And parsing reads them back the same way.
  const Tensor t = parse_idx(concat(header(0x0C, {1, 2}), {0x80, 0, 0, 0, 0x01, 0x02, 0x03, 0x04}), "pinned");
  CHECK(t.shape() == Shape{1, 2});
  CHECK(vals(t) == Values{-2147483648.0, 0x01020304});
}

TEST_CASE("IDX handles zero dims, empty tensors, and views") {
  // No dims: one element (a scalar), as numel of an empty shape is 1.
  const Tensor scalar = parse_idx(concat(header(0x08, {}), {42}), "scalar");
  CHECK(scalar.shape() == Shape{});
  CHECK(vals(scalar) == Values{42});
  CHECK(encode_idx(scalar, IdxType::UInt8) == concat(header(0x08, {}), {42}));
  // A zero dim empties the tensor (no data) whatever the other dims are, as
  // long as their product fits: shape_numel must not overflow on the shape.
  const Tensor empty = parse_idx(header(0x0E, {0xFFFFFFFFu, 0, 0xFFFFFFFu}), "empty");
  CHECK(empty.shape() == Shape{0xFFFFFFFFll, 0, 0xFFFFFFFll});
  CHECK(empty.numel() == 0);
  CHECK(empty.dtype() == DType::Float64);
  // A non-contiguous view is written in its own row-major order.
  const Tensor transposed = iota({2, 3}, DType::Int64).t();
  CHECK(vals(parse_idx(encode_idx(transposed, IdxType::Int32), "view")) == Values{0, 3, 1, 4, 2, 5});
}

TEST_CASE("hostile IDX headers each get their own one-line error naming the file") {
  const std::string name = "evil.idx";
  auto parse = [&](const Bytes& bytes) { return parse_idx(bytes, name); };

  CHECK_THROWS_WITH_AS(parse({}), "evil.idx: not an IDX file (0 bytes; the magic number alone is 4)", Error);
  CHECK_THROWS_WITH_AS(parse({0, 0, 8}), "evil.idx: not an IDX file (3 bytes; the magic number alone is 4)", Error);
  CHECK_THROWS_WITH_AS(parse({0x01, 0x00, 0x08, 0x01, 0, 0, 0, 0}),
                       has("evil.idx: not an IDX file (bad magic 0x01000801;"), Error);
  CHECK_THROWS_WITH_AS(parse({0x00, 0x02, 0x08, 0x00, 7}), has("bad magic 0x00020800"), Error);
  // A gzip file handed to the raw parser says what it is.
  const Bytes payload = header(0x08, {1});
  CHECK_THROWS_WITH_AS(parse(gzip(payload.data(), payload.size())), has("looks gzip-compressed"), Error);
  // Type bytes that are not IDX types, including ones between the valid ones.
  for (uint8_t type : {0x00, 0x07, 0x0A, 0x0F, 0xFF}) {
    CAPTURE(int{type});
    char expected[64];
    std::snprintf(expected, sizeof expected, "evil.idx: unknown element type 0x%02X", type);
    CHECK_THROWS_WITH_AS(parse(concat(header(type, {1}), {0})), has(expected), Error);
  }
  // The dims list cut short: 3 dims need 4 + 12 header bytes.
  CHECK_THROWS_WITH_AS(parse(Bytes{0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1}),
                       "evil.idx: truncated header: 3 dims need 16 header bytes, file has 12", Error);
  CHECK_THROWS_WITH_AS(parse(Bytes{0, 0, 8, 255}), has("255 dims need 1024 header bytes, file has 4"),
                       Error);
  // Data short by one, long by one.
  CHECK_THROWS_WITH_AS(parse(concat(header(0x08, {2, 3}), Bytes(5))),
                       "evil.idx: truncated: header says 6 bytes of data ([2, 3] u8 (0x08)), file has 5", Error);
  CHECK_THROWS_WITH_AS(parse(concat(header(0x0D, {2}), Bytes(7))),
                       "evil.idx: truncated: header says 8 bytes of data ([2] f32 (0x0D)), file has 7", Error);
  CHECK_THROWS_WITH_AS(parse(concat(header(0x08, {2, 3}), Bytes(7))),
                       "evil.idx: trailing bytes: header says 6 bytes of data ([2, 3] u8 (0x08)), file has 7", Error);
  // Sizes whose product overflows 64 bits, checked before any allocation.
  CHECK_THROWS_WITH_AS(parse(header(0x0E, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu})),
                       has("evil.idx: dims [4294967295, 4294967295, 4294967295] overflow"), Error);
  CHECK_THROWS_WITH_AS(parse(header(0x08, std::vector<uint32_t>(255, 2))), has("overflow"), Error);
  // Also when a zero dim makes the tensor empty (found by fuzz_idx: shape_numel overflowed).
  CHECK_THROWS_WITH_AS(parse(header(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0, 0xFFFFFFFFu})),
                       "evil.idx: dims [4294967295, 4294967295, 0, 4294967295] overflow (their product, in bytes of u8 "
                       "(0x08) data, exceeds 2^63 - 1)",
                       Error);
  // 2^31 * 2^31 * 2 = 2^63 bytes of u8: one past the limit; 2^62 is merely truncated.
  CHECK_THROWS_WITH_AS(parse(header(0x08, {0x80000000u, 0x80000000u, 2})), has("overflow"), Error);
  CHECK_THROWS_WITH_AS(parse(header(0x08, {0x80000000u, 0x80000000u})),
                       has("truncated: header says 4611686018427387904 bytes"), Error);
  // A huge but representable size is "truncated", never a giant allocation.
  CHECK_THROWS_WITH_AS(parse(concat(header(0x0C, {65536, 65536}), Bytes(100))),
                       has("truncated: header says 17179869184 bytes of data"), Error);
  // Every message is one line.
  try {
    parse(concat(header(0x08, {2}), Bytes(1)));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
  }
}

TEST_CASE("read_idx names the path; encode_idx refuses what the type cannot hold") {
  TempDir dir;
  const std::string missing = dir.file("missing.idx");
  CHECK_THROWS_WITH_AS(read_idx(missing), (missing + ": cannot read: No such file or directory").c_str(), Error);
  const std::string bad = dir.file("bad.idx");
  write_bytes(bad, {1, 2, 3, 4, 5});
  CHECK_THROWS_WITH_AS(read_idx(bad), has(bad + ": not an IDX file (bad magic 0x01020304"), Error);
  // A gzip stream cut short fails in gunzip, which names the file too.
  const Bytes payload = encode_idx(iota({100}, DType::UInt8), IdxType::UInt8);
  Bytes packed = gzip(payload.data(), payload.size());
  packed.resize(packed.size() - 10);
  const std::string cut = dir.file("cut.idx.gz");
  write_bytes(cut, packed);
  CHECK_THROWS_WITH_AS(read_idx(cut), has(cut), Error);
  // A gzipped file whose content is not IDX: the IDX error, naming the path.
  const Bytes text = {'h', 'e', 'l', 'l', 'o'};
  write_bytes(cut, gzip(text.data(), text.size()));
  CHECK_THROWS_WITH_AS(read_idx(cut), has(cut + ": not an IDX file"), Error);

  CHECK_THROWS_WITH_AS(encode_idx(int64s({0, 256}), IdxType::UInt8),
                       "encode_idx: value 256 at flat index 1 does not fit u8 (0x08)", Error);
  CHECK_THROWS_WITH_AS(encode_idx(int64s({-129}), IdxType::Int8), has("value -129"), Error);
  CHECK_THROWS_WITH_AS(encode_idx(int64s({32768}), IdxType::Int16), has("value 32768"), Error);
  CHECK_THROWS_WITH_AS(encode_idx(int64s({2147483648.0}), IdxType::Int32), has("value 2147483648"),
                       Error);
  CHECK_THROWS_WITH_AS(encode_idx(tensor({0.5}), IdxType::UInt8),
                       has("a float32 tensor cannot be written as integer type u8"), Error);
  CHECK_THROWS_WITH_AS(encode_idx(Tensor(), IdxType::UInt8), "encode_idx: undefined tensor", Error);
  // Nothing is left behind by a refused write.
  CHECK_THROWS_AS(write_idx(dir.file("refused.idx"), int64s({300}), IdxType::UInt8), Error);
  CHECK_FALSE(std::filesystem::exists(dir.file("refused.idx")));
}

// ---- MNIST -------------------------------------------------------------------------

namespace {

// MNIST-shaped files: n images of 28x28 whose pixels encode (image, pixel),
// and labels i % 10; `gz` writes the ".gz" names.
void write_split(const TempDir& dir, const std::string& prefix, int64_t n, bool gz = false) {
  const std::string ext = gz ? ".gz" : "";
  Values pixels(static_cast<size_t>(n) * 784), labels(static_cast<size_t>(n));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<double>((i * 7 + i / 784) % 256);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<double>(i % 10);
  write_idx(dir.file(prefix + "-images-idx3-ubyte" + ext), tensor(pixels, {n, 28, 28}, DType::UInt8), IdxType::UInt8);
  write_idx(dir.file(prefix + "-labels-idx1-ubyte" + ext), tensor(labels, {n}, DType::UInt8), IdxType::UInt8);
}

}  // namespace

TEST_CASE("load_mnist reads both splits, raw or gzipped, with uint8 images and int64 labels") {
  TempDir dir;
  write_split(dir, "train", 5);
  write_split(dir, "t10k", 3, /*gz=*/true);
  const MnistSplit train = load_mnist(dir.path.string(), true);
  CHECK(train.images.dtype() == DType::UInt8);
  CHECK(train.images.shape() == Shape{5, 28, 28});
  CHECK(train.labels.dtype() == DType::Int64);
  CHECK(vals(train.labels) == Values{0, 1, 2, 3, 4});
  const std::vector<uint8_t> px = train.images.to_vector<uint8_t>();
  CHECK(px[0] == 0);
  CHECK(px[784 + 1] == (785 * 7 + 1) % 256);
  const MnistSplit test = load_mnist(dir.path.string(), false);
  CHECK(test.images.shape() == Shape{3, 28, 28});
  CHECK(vals(test.labels) == Values{0, 1, 2});
  // With both forms present the raw file wins (it is what fetch_mnist.sh leaves).
  write_idx(dir.file("t10k-labels-idx1-ubyte"), tensor({9, 8, 7}, {3}, DType::UInt8), IdxType::UInt8);
  CHECK(vals(load_mnist(dir.path.string(), false).labels) == Values{9, 8, 7});
}

TEST_CASE("load_mnist errors name the file and say what is wrong") {
  TempDir dir;
  const std::string d = dir.path.string();
  // Missing: says how to get the files and where they go.
  CHECK_THROWS_WITH_AS(load_mnist(d, true), has(dir.file("train-images-idx3-ubyte: missing")), Error);
  CHECK_THROWS_WITH_AS(load_mnist(d, true), has("make data"), Error);
  CHECK_THROWS_WITH_AS(load_mnist(d, true), has("train-images-idx3-ubyte.gz"), Error);
  CHECK_THROWS_WITH_AS(load_mnist(d, true), has("into " + d + " or set MNIST_DIR"), Error);
  write_split(dir, "train", 5);
  std::filesystem::remove(dir.file("train-labels-idx1-ubyte"));
  CHECK_THROWS_WITH_AS(load_mnist(d, true), has(dir.file("train-labels-idx1-ubyte: missing")), Error);
  CHECK_THROWS_WITH_AS(load_mnist(d, false), has(dir.file("t10k-images-idx3-ubyte: missing")), Error);

  const std::string images = dir.file("train-images-idx3-ubyte"), labels = dir.file("train-labels-idx1-ubyte");
  write_idx(labels, tensor({1, 2, 3, 4, 5}, {5}, DType::UInt8), IdxType::UInt8);
  REQUIRE_NOTHROW(load_mnist(d, true));
  auto rewrite_images = [&](const Tensor& t, IdxType type) { write_idx(images, t, type); };

  // Not IDX at all (an HTML error page saved under the right name, say).
  write_bytes(images, {'<', 'h', 't', 'm', 'l', '>'});
  CHECK_THROWS_WITH_AS(load_mnist(d, true), has(images + ": not an IDX file (bad magic 0x3C68746D"),
                       Error);
  // Right shape, wrong element type.
  rewrite_images(zeros({5, 28, 28}, DType::Int64), IdxType::Int8);
  CHECK_THROWS_WITH_AS(load_mnist(d, true),
                       (images + ": expected MNIST's element type u8 (0x08), got i8 (0x09)").c_str(), Error);
  // Wrong image shapes.
  rewrite_images(zeros({5, 28, 27}, DType::UInt8), IdxType::UInt8);
  CHECK_THROWS_WITH_AS(load_mnist(d, true),
                       (images + ": expected images of shape [N, 28, 28], got [5, 28, 27]").c_str(), Error);
  rewrite_images(zeros({5, 784}, DType::UInt8), IdxType::UInt8);
  CHECK_THROWS_WITH_AS(load_mnist(d, true), has("got [5, 784]"), Error);
  rewrite_images(zeros({5, 28, 28}, DType::UInt8), IdxType::UInt8);
  REQUIRE_NOTHROW(load_mnist(d, true));
  // Labels: wrong shape, wrong type, wrong count, out of range.
  write_idx(labels, zeros({5, 1}, DType::UInt8), IdxType::UInt8);
  CHECK_THROWS_WITH_AS(load_mnist(d, true), (labels + ": expected labels of shape [N], got [5, 1]").c_str(), Error);
  write_idx(labels, zeros({5}, DType::Float32), IdxType::Float32);
  CHECK_THROWS_WITH_AS(load_mnist(d, true), has(labels + ": expected MNIST's element type u8"), Error);
  write_idx(labels, zeros({4}, DType::UInt8), IdxType::UInt8);
  CHECK_THROWS_WITH_AS(load_mnist(d, true),
                       (images + ": 5 images but " + labels + " has 4 labels").c_str(), Error);
  write_idx(labels, tensor({0, 9, 1, 10, 2}, {5}, DType::UInt8), IdxType::UInt8);
  CHECK_THROWS_WITH_AS(load_mnist(d, true), (labels + ": label 10 at index 3 is outside 0..9").c_str(), Error);
  // A truncated download (the file cut short) is reported as such.
  Bytes cut = read_file(images);
  cut.resize(cut.size() - 100);
  write_bytes(images, cut);
  write_idx(labels, zeros({5}, DType::UInt8), IdxType::UInt8);
  CHECK_THROWS_WITH_AS(load_mnist(d, true),
                       (images + ": truncated: header says 3920 bytes of data ([5, 28, 28] u8 (0x08)), file has 3820")
                           .c_str(),
                       Error);
}

TEST_CASE("resolve_mnist_dir: the flag, else $MNIST_DIR, else data/mnist") {
  const char* saved = std::getenv("MNIST_DIR");
  const std::string saved_value = saved ? saved : "";
  ::unsetenv("MNIST_DIR");
  CHECK(resolve_mnist_dir("") == "data/mnist");
  ::setenv("MNIST_DIR", "", 1);
  CHECK(resolve_mnist_dir("") == "data/mnist");
  ::setenv("MNIST_DIR", "/somewhere/mnist", 1);
  CHECK(resolve_mnist_dir("") == "/somewhere/mnist");
  CHECK(resolve_mnist_dir("flag/dir") == "flag/dir");
  if (saved) ::setenv("MNIST_DIR", saved_value.c_str(), 1);
  else ::unsetenv("MNIST_DIR");
}
