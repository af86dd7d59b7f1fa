// test_loader.cpp — data/loader.h: epoch orders that depend only on (seed,
// epoch), batch counts, pixel scaling, batches from the worker thread equal
// to ones made synchronously, errors carried from the worker, and clean
// shutdown mid-epoch. The last test streams real MNIST when data/mnist (or
// $MNIST_DIR) has it; `make` fetches it, so CI runs it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "data/loader.h"
#include "data/mnist.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

// n images of h x w whose every pixel is the image's index (n <= 256), so a
// batch row says which sample it came from; labels 1000 + index.
struct Samples {
  Tensor images, labels;
};
Samples samples(int64_t n, int64_t h = 2, int64_t w = 3) {
  Values pixels, labels;
  for (int64_t i = 0; i < n; ++i) {
    pixels.insert(pixels.end(), static_cast<size_t>(h * w), static_cast<double>(i));
    labels.push_back(static_cast<double>(1000 + i));
  }
  return {tensor(pixels, {n, h, w}, DType::UInt8), tensor(labels, {n}, DType::Int64)};
}

// Every batch of the current epoch, through next().
std::vector<Batch> drain(DataLoader& loader) {
  std::vector<Batch> out;
  while (std::optional<Batch> batch = loader.next()) out.push_back(std::move(*batch));
  return out;
}

// The sample index of each row of a batch from samples(): its first pixel
// times 255 (ZeroOne scale), cross-checked against the label.
std::vector<int64_t> rows_of(const Batch& batch) {
  const std::vector<float> px = batch.images.to_vector<float>();
  const std::vector<int64_t> labels = batch.labels.to_vector<int64_t>();
  const int64_t per_row = batch.images.numel() / std::max<int64_t>(batch.images.size(0), 1);
  std::vector<int64_t> out;
  for (int64_t r = 0; r < batch.images.size(0); ++r) {
    const auto index = static_cast<int64_t>(std::lround(px[static_cast<size_t>(r * per_row)] * 255.0f));
    CHECK(labels[static_cast<size_t>(r)] == 1000 + index);
    out.push_back(index);
  }
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  return std::memcmp(a.raw_data(), b.raw_data(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("an epoch's order depends only on (seed, epoch) and is a permutation") {
  const auto [images, labels] = samples(100);
  DataLoader a(images, labels, 7, /*shuffle=*/true, /*seed=*/42, /*drop_last=*/false, PixelScale::ZeroOne);
  DataLoader b(images, labels, 7, true, 42, false, PixelScale::ZeroOne);
  // b runs (and abandons) other epochs first; a goes straight to epoch 3.
  for (int64_t e : {0, 1, 2, 5}) {
    b.start_epoch(e);
    b.next();
  }
  a.start_epoch(3);
  b.start_epoch(3);
  CHECK(a.order() == b.order());
  CHECK(a.order() == DataLoader::epoch_order(100, true, 42, 3));
  std::vector<int64_t> sorted = a.order();
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(100);
  std::iota(identity.begin(), identity.end(), int64_t{0});
  CHECK(sorted == identity);

  // The batches follow the order: every sample exactly once.
  std::vector<int64_t> seen;
  for (const Batch& batch : drain(a))
    for (int64_t i : rows_of(batch)) seen.push_back(i);
  CHECK(seen == a.order());

  // Other epochs and other seeds give other orders; no shuffle is the identity.
  CHECK(DataLoader::epoch_order(100, true, 42, 4) != a.order());
  CHECK(DataLoader::epoch_order(100, true, 43, 3) != a.order());
  CHECK(DataLoader::epoch_order(100, false, 42, 3) == identity);
  // Pinned: changing the shuffle would silently change every seeded run.
  CHECK(DataLoader::epoch_order(10, true, 42, 0) == (std::vector<int64_t>{5, 6, 0, 1, 3, 9, 8, 7, 4, 2}));
  CHECK(DataLoader::epoch_order(0, true, 1, 0).empty());
  CHECK(DataLoader::epoch_order(1, true, 1, 0) == std::vector<int64_t>{0});
}

TEST_CASE("the shuffle draws each permutation equally often") {
  // 3 elements, 6000 epochs: each of the 6 permutations about 1000 times
  // (sd ~29). An off-by-one in Fisher-Yates (j in [0, i) instead of [0, i])
  // would give only 2 of them, a biased draw a visibly uneven count.
  std::map<std::vector<int64_t>, int> counts;
  for (int64_t epoch = 0; epoch < 6000; ++epoch) ++counts[DataLoader::epoch_order(3, true, 7, epoch)];
  CHECK(counts.size() == 6);
  for (const auto& [order, count] : counts) {
    CAPTURE(order[0] * 100 + order[1] * 10 + order[2]);
    CHECK(count > 850);
    CHECK(count < 1150);
  }
}

TEST_CASE("batch counts and sizes with and without drop_last") {
  struct Case {
    int64_t n, batch;
    bool drop_last;
    int64_t batches, last;
  };
  for (const Case& c : std::vector<Case>{{10, 4, false, 3, 2},
                                         {10, 4, true, 2, 4},
                                         {8, 4, false, 2, 4},
                                         {8, 4, true, 2, 4},
                                         {3, 4, false, 1, 3},
                                         {3, 4, true, 0, 0},
                                         {1, 1, true, 1, 1},
                                         {0, 5, false, 0, 0}}) {
    CAPTURE(c.n);
    CAPTURE(c.batch);
    CAPTURE(c.drop_last);
    const auto [images, labels] = samples(c.n);
    DataLoader loader(images, labels, c.batch, true, 1, c.drop_last, PixelScale::ZeroOne);
    CHECK(loader.batches_per_epoch() == c.batches);
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(epoch);
      const std::vector<Batch> batches = drain(loader);
      REQUIRE(static_cast<int64_t>(batches.size()) == c.batches);
      for (size_t k = 0; k < batches.size(); ++k) {
        CHECK(batches[k].index == static_cast<int64_t>(k));
        const int64_t rows = k + 1 == batches.size() ? c.last : c.batch;
        CHECK(batches[k].images.shape() == Shape{rows, 1, 2, 3});
        CHECK(batches[k].labels.shape() == Shape{rows});
        CHECK(batches[k].labels.dtype() == DType::Int64);
        CHECK(batches[k].images.dtype() == DType::Float32);
      }
      // The end stays the end.
      CHECK_FALSE(loader.next().has_value());
      CHECK_FALSE(loader.next().has_value());
    }
  }
}

TEST_CASE("pixels scale to [0, 1] or [-1, 1] with exact ends") {
  const Tensor images = tensor({0, 1, 127, 128, 254, 255}, {1, 2, 3}, DType::UInt8);
  const Tensor labels = int64s({3});
  DataLoader zero_one(images, labels, 1, false, 0, false, PixelScale::ZeroOne);
  DataLoader minus_one_one(images, labels, 1, false, 0, false, PixelScale::MinusOneOne);
  zero_one.start_epoch(0);
  minus_one_one.start_epoch(0);
  const std::vector<float> a = zero_one.next()->images.to_vector<float>();
  const std::vector<float> b = minus_one_one.next()->images.to_vector<float>();
  CHECK(a == std::vector<float>{0.0f, 1 / 255.0f, 127 / 255.0f, 128 / 255.0f, 254 / 255.0f, 1.0f});
  CHECK(b == std::vector<float>{-1.0f, static_cast<float>(1 / 127.5 - 1), static_cast<float>(127 / 127.5 - 1),
                                static_cast<float>(128 / 127.5 - 1), static_cast<float>(254 / 127.5 - 1), 1.0f});
  CHECK(b[2] < 0.0f);
  CHECK(b[3] > 0.0f);
}

TEST_CASE("batches from the worker equal batches made synchronously and by hand, bit for bit") {
  // Odd sizes: a 5x7 image, batch 6 over 50 samples (a short last batch).
  Values pixels(50 * 35);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<double>((i * 37 + 11) % 256);
  Values label_values(50);
  for (size_t i = 0; i < label_values.size(); ++i) label_values[i] = static_cast<double>(i % 10);
  const Tensor images = tensor(pixels, {50, 5, 7}, DType::UInt8), labels = tensor(label_values, {50}, DType::Int64);
  for (PixelScale scale : {PixelScale::ZeroOne, PixelScale::MinusOneOne}) {
    DataLoader loader(images, labels, 6, true, 99, false, scale);
    for (int64_t epoch : {0, 1, 7}) {
      loader.start_epoch(epoch);
      const std::vector<Batch> batches = drain(loader);
      REQUIRE(batches.size() == 9);
      for (size_t k = 0; k < batches.size(); ++k) {
        const Batch sync = loader.make_batch(static_cast<int64_t>(k));
        CHECK(same_bits(batches[k].images, sync.images));
        CHECK(same_bits(batches[k].labels, sync.labels));
        // By hand from the order, with the formula written out again.
        const int64_t rows = batches[k].images.size(0);
        std::vector<float> expected_px;
        std::vector<int64_t> expected_labels;
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t sample = loader.order()[k * 6 + static_cast<size_t>(r)];
          for (int64_t p = 0; p < 35; ++p) {
            const double v = pixels[static_cast<size_t>(sample * 35 + p)];
            expected_px.push_back(static_cast<float>(scale == PixelScale::ZeroOne ? v / 255.0 : v / 127.5 - 1.0));
          }
          expected_labels.push_back(static_cast<int64_t>(label_values[static_cast<size_t>(sample)]));
        }
        CHECK(bit_equal(batches[k].images.to_vector<float>(), expected_px));
        CHECK(batches[k].labels.to_vector<int64_t>() == expected_labels);
      }
    }
  }
}

TEST_CASE("non-contiguous inputs are accepted; bad inputs are refused") {
  // A [3, 2, 2] view with the image dims transposed: the loader copies it.
  const Tensor base = iota({3, 2, 2}, DType::UInt8);
  const Tensor transposed = base.transpose(1, 2);
  DataLoader loader(transposed, int64s({0, 1, 2}), 3, false, 0, false, PixelScale::ZeroOne);
  loader.start_epoch(0);
  const std::vector<float> px = loader.next()->images.to_vector<float>();
  const Values expected = vals(transposed);
  for (size_t i = 0; i < px.size(); ++i) CHECK(px[i] == static_cast<float>(expected[i] / 255.0));

  const Tensor images = zeros({4, 2, 2}, DType::UInt8), labels = zeros({4}, DType::Int64);
  CHECK_THROWS_WITH_AS(DataLoader(zeros({4, 2, 2}), labels, 2, false, 0, false, PixelScale::ZeroOne),
                       "DataLoader: expected uint8 images [N, H, W], got float32 [4, 2, 2]", Error);
  CHECK_THROWS_WITH_AS(DataLoader(zeros({4, 4}, DType::UInt8), labels, 2, false, 0, false, PixelScale::ZeroOne),
                       doctest::Contains("got uint8 [4, 4]"), Error);
  CHECK_THROWS_WITH_AS(DataLoader(images, zeros({4}, DType::UInt8), 2, false, 0, false, PixelScale::ZeroOne),
                       "DataLoader: expected int64 labels [N], got uint8 [4]", Error);
  CHECK_THROWS_WITH_AS(DataLoader(images, zeros({3}, DType::Int64), 2, false, 0, false, PixelScale::ZeroOne),
                       "DataLoader: 4 images but 3 labels", Error);
  CHECK_THROWS_WITH_AS(DataLoader(images, labels, 0, false, 0, false, PixelScale::ZeroOne),
                       "DataLoader: batch_size must be >= 1, got 0", Error);
  DataLoader unstarted(images, labels, 2, false, 0, false, PixelScale::ZeroOne);
  CHECK_THROWS_WITH_AS(unstarted.next(), "DataLoader::next: call start_epoch(epoch) first", Error);
  CHECK_THROWS_WITH_AS(unstarted.make_batch(0), "DataLoader::make_batch: call start_epoch(epoch) first", Error);
  CHECK_THROWS_WITH_AS(unstarted.start_epoch(-1), "DataLoader::start_epoch: epoch must be >= 0, got -1", Error);
  unstarted.start_epoch(0);
  CHECK_THROWS_WITH_AS(unstarted.make_batch(2), "DataLoader::make_batch: batch 2 out of range [0, 2)", Error);
}

TEST_CASE("an exception on the worker reaches the caller through next(), after the batches before it") {
  const auto [images, labels] = samples(20);
  DataLoader loader(images, labels, 4, false, 0, false, PixelScale::ZeroOne, [](Batch& batch) {
    if (batch.index == 2) throw Error("augment: batch 2 is cursed");
    batch.images.mul_(2.0);  // the transform's work is what next() returns
  });
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    for (int64_t k = 0; k < 2; ++k) {
      std::optional<Batch> batch = loader.next();
      REQUIRE(batch.has_value());
      CHECK(batch->index == k);
      CHECK(batch->images.to_vector<float>()[0] == static_cast<float>(4 * k / 255.0) * 2.0f);
    }
    CHECK_THROWS_WITH_AS(loader.next(), "augment: batch 2 is cursed", Error);
    CHECK_FALSE(loader.next().has_value());  // the failed epoch is over
  }
}

TEST_CASE("destroying or restarting mid-epoch stops the worker cleanly") {
  const auto [images, labels] = samples(256, 4, 4);
  // Destroyed: never started; started but never read; read partway; with
  // the worker blocked on a full queue (batch 1 leaves 255 batches to make).
  { DataLoader loader(images, labels, 1, true, 3, false, PixelScale::ZeroOne); }
  {
    DataLoader loader(images, labels, 1, true, 3, false, PixelScale::ZeroOne);
    loader.start_epoch(0);
  }
  {
    DataLoader loader(images, labels, 1, true, 3, false, PixelScale::ZeroOne);
    loader.start_epoch(0);
    CHECK(loader.next()->index == 0);
    CHECK(loader.next()->index == 1);
  }
  // Many restarts, some after reading a little; the epoch that runs to the
  // end afterwards is exactly its own, with nothing left over from before.
  DataLoader loader(images, labels, 5, true, 3, true, PixelScale::ZeroOne);
  for (int64_t i = 0; i < 300; ++i) {
    loader.start_epoch(i % 7);
    for (int64_t k = 0; k < i % 4; ++k) CHECK(loader.next()->index == k);
  }
  loader.start_epoch(11);
  std::vector<int64_t> seen;
  for (const Batch& batch : drain(loader))
    for (int64_t s : rows_of(batch)) seen.push_back(s);
  std::vector<int64_t> expected = DataLoader::epoch_order(256, true, 3, 11);
  expected.resize(255);  // drop_last: 51 batches of 5
  CHECK(seen == expected);
}

namespace {
bool mnist_present() {
  const std::filesystem::path dir = resolve_mnist_dir("");
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"}) {
    std::error_code error;
    if (!std::filesystem::exists(dir / name, error) &&
        !std::filesystem::exists(dir / (std::string(name) + ".gz"), error))
      return false;
  }
  return true;
}
}  // namespace

TEST_CASE("real MNIST: 60000 + 10000 digits, streamed through the loader" * doctest::skip(!mnist_present())) {
  const std::string dir = resolve_mnist_dir("");
  const MnistSplit train = load_mnist(dir, true);
  const MnistSplit test = load_mnist(dir, false);
  CHECK(train.images.shape() == Shape{60000, 28, 28});
  CHECK(test.images.shape() == Shape{10000, 28, 28});
  const std::vector<int64_t> train_labels = train.labels.to_vector<int64_t>();
  const std::vector<int64_t> test_labels = test.labels.to_vector<int64_t>();
  CHECK(std::vector<int64_t>(train_labels.begin(), train_labels.begin() + 5) == std::vector<int64_t>{5, 0, 4, 1, 9});
  CHECK(std::vector<int64_t>(test_labels.begin(), test_labels.begin() + 5) == std::vector<int64_t>{7, 2, 1, 0, 4});

  // One shuffled epoch at batch 64: 938 batches (the last of 32), every
  // digit exactly as often as in the file, pixels in [0, 1].
  DataLoader loader(train.images, train.labels, 64, true, 1, false, PixelScale::ZeroOne);
  CHECK(loader.batches_per_epoch() == 938);
  loader.start_epoch(0);
  std::vector<int64_t> counts(10, 0), expected(10, 0);
  for (int64_t label : train_labels) ++expected[static_cast<size_t>(label)];
  int64_t batches = 0, rows = 0;
  double pixel_sum = 0;
  while (std::optional<Batch> batch = loader.next()) {
    ++batches;
    rows += batch->images.size(0);
    for (int64_t label : batch->labels.to_vector<int64_t>()) ++counts[static_cast<size_t>(label)];
    const float* px = batch->images.data<float>();
    for (int64_t i = 0; i < batch->images.numel(); ++i) pixel_sum += px[i];
    if (batch->index == 937) CHECK(batch->images.size(0) == 32);
  }
  CHECK(batches == 938);
  CHECK(rows == 60000);
  CHECK(counts == expected);
  // Every pixel once: the same sum of the same float values, up to the
  // order of the (double) additions.
  double expected_sum = 0;
  for (uint8_t v : train.images.to_vector<uint8_t>()) expected_sum += static_cast<float>(v / 255.0);
  CHECK(pixel_sum == doctest::Approx(expected_sum).epsilon(1e-12));
}
