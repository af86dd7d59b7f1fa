// loader.cpp — see loader.h.
#include "data/loader.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "tensor/error.h"
#include "tensor/philox.h"

namespace dl {
namespace {

// Shuffles draw from Philox streams (offsets) with this tag in the high bits,
// so a loader seeded like a model's Generator (whose draws use offsets 0, 1,
// 2, ...) never reuses the random bits that initialised the weights.
constexpr uint64_t kShuffleStream = uint64_t{0x53485546} << 32;  // "SHUF"

}  // namespace

DataLoader::DataLoader(Tensor images, Tensor labels, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last,
                       PixelScale scale, Transform transform)
    : batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last), seed_(seed), transform_(std::move(transform)) {
  check(images.defined() && labels.defined(), "DataLoader: undefined images or labels tensor");
  check(images.device().is_cpu() && labels.device().is_cpu(), "DataLoader: images and labels must be on the CPU");
  check(images.dtype() == DType::UInt8 && images.dim() == 3, "DataLoader: expected uint8 images [N, H, W], got ",
        images.dtype(), " ", images.shape());
  check(labels.dtype() == DType::Int64 && labels.dim() == 1, "DataLoader: expected int64 labels [N], got ",
        labels.dtype(), " ", labels.shape());
  check(labels.size(0) == images.size(0), "DataLoader: ", images.size(0), " images but ", labels.size(0), " labels");
  check(batch_size >= 1, "DataLoader: batch_size must be >= 1, got ", batch_size);
  images_ = images.contiguous();
  labels_ = labels.contiguous();
  pixels_ = images_.data<uint8_t>();
  label_values_ = labels_.data<int64_t>();
  n_ = images_.size(0);
  height_ = images_.size(1);
  width_ = images_.size(2);
  // Each value computed in double and rounded once, so 0 and 255 land
  // exactly on the ends of the range and every batch uses the same floats.
  for (int v = 0; v < 256; ++v)
    scale_table_[v] = static_cast<float>(scale == PixelScale::ZeroOne ? v / 255.0 : v / 127.5 - 1.0);
}

DataLoader::~DataLoader() { stop_worker(); }

int64_t DataLoader::batches_per_epoch() const {
  return drop_last_ ? n_ / batch_size_ : (n_ + batch_size_ - 1) / batch_size_;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch) {
  check(n >= 0 && epoch >= 0, "DataLoader: invalid order request (n ", n, ", epoch ", epoch, ")");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!shuffle) return order;
  const uint64_t stream = kShuffleStream + static_cast<uint64_t>(epoch);
  for (int64_t i = n - 1; i > 0; --i) {
    // j uniform in [0, i]: the high 64 bits of a 64-bit draw times (i + 1).
    // Unlike a modulo, this needs one Philox block per step and its bias,
    // (i + 1) / 2^64, is far below anything measurable.
    const Philox4x32 r = philox_block(seed, stream, static_cast<uint64_t>(i));
    const uint64_t bits = (uint64_t{r.v[0]} << 32) | r.v[1];
    const auto j = static_cast<int64_t>((static_cast<unsigned __int128>(bits) * static_cast<uint64_t>(i + 1)) >> 64);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

Batch DataLoader::make_batch(int64_t k) const {
  check(epoch_ >= 0, "DataLoader::make_batch: call start_epoch(epoch) first");
  check(k >= 0 && k < batches_per_epoch(), "DataLoader::make_batch: batch ", k, " out of range [0, ",
        batches_per_epoch(), ")");
  const int64_t begin = k * batch_size_;
  const int64_t count = std::min(batch_size_, n_ - begin);
  const int64_t pixels = height_ * width_;
  Batch batch;
  batch.index = k;
  batch.images = Tensor::empty({count, 1, height_, width_}, DType::Float32);
  batch.labels = Tensor::empty({count}, DType::Int64);
  float* image_out = batch.images.data<float>();
  int64_t* label_out = batch.labels.data<int64_t>();
  for (int64_t row = 0; row < count; ++row) {
    const int64_t sample = order_[static_cast<size_t>(begin + row)];
    const uint8_t* src = pixels_ + sample * pixels;
    float* dst = image_out + row * pixels;
    for (int64_t p = 0; p < pixels; ++p) dst[p] = scale_table_[src[p]];
    label_out[row] = label_values_[sample];
  }
  return batch;
}

void DataLoader::produce(int64_t first, int64_t count) {
  for (int64_t k = first; k < count; ++k) {
    // Made outside the lock so the caller can take earlier batches meanwhile.
    Batch batch;
    std::exception_ptr error;
    try {
      batch = make_batch(k);
      if (transform_) transform_(batch);
    } catch (...) {
      error = std::current_exception();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    space_.wait(lock, [&] { return stop_ || queue_.size() < kQueueSlots; });
    if (stop_) return;
    if (error) {
      // Moved, not copied: the caller then holds the only reference, so the
      // exception is freed on its thread after it is read, never here.
      error_ = std::move(error);
      finished_ = true;
      ready_.notify_one();
      return;
    }
    queue_.push_back(std::move(batch));
    ready_.notify_one();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  finished_ = true;
  ready_.notify_one();
}

void DataLoader::stop_worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  space_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  check(epoch >= 0, "DataLoader::start_epoch: epoch must be >= 0, got ", epoch);
  check(first_batch >= 0 && first_batch <= batches_per_epoch(), "DataLoader::start_epoch: first batch ", first_batch,
        " out of range [0, ", batches_per_epoch(), "]");
  stop_worker();
  // No worker runs now, so the shared state can be reset without the lock.
  order_ = epoch_order(n_, shuffle_, seed_, epoch);
  epoch_ = epoch;
  queue_.clear();
  error_ = nullptr;
  finished_ = false;
  stop_ = false;
  started_ = false;  // until the worker exists: next() would otherwise wait forever
  worker_ = std::thread(&DataLoader::produce, this, first_batch, batches_per_epoch());
  started_ = true;
}

std::optional<Batch> DataLoader::next() {
  check(started_, "DataLoader::next: call start_epoch(epoch) first");
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [&] { return !queue_.empty() || finished_; });
  if (!queue_.empty()) {
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    space_.notify_one();
    return batch;
  }
  if (error_) {
    std::exception_ptr error = std::move(error_);
    error_ = nullptr;
    std::rethrow_exception(error);
  }
  return std::nullopt;
}

}  // namespace dl
