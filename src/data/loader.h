// loader.h — batches of images for training: shuffled per epoch, converted
// from bytes to float pixels, and prepared on a background thread while the
// caller trains on the previous batch.
//
// Reproducibility: an epoch's order is a Fisher-Yates shuffle drawn from
// Philox (philox.h) keyed by the seed, with the epoch as the stream. It
// depends on nothing else — not on how many batches earlier epochs served, on
// timing, or on the thread — so a run resumed at epoch e sees exactly the
// batches an uninterrupted run would have. The worker runs the same
// make_batch() a caller can run itself, so batches are bit-identical with or
// without it (tests/test_loader.cpp compares them).
//
//   DataLoader loader(split.images, split.labels, 64, /*shuffle=*/true, seed,
//                     /*drop_last=*/true, PixelScale::ZeroOne);
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     while (std::optional<Batch> batch = loader.next()) train(batch->images, batch->labels);
//   }
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tensor/tensor.h"

namespace dl {

// How a pixel byte v becomes a float: v / 255 in [0, 1] (for a Sigmoid
// output), or v / 127.5 - 1 in [-1, 1] (for Tanh). 0 and 255 map exactly to
// the ends of the range.
enum class PixelScale { ZeroOne, MinusOneOne };

struct Batch {
  Tensor images;      // float32 [B, 1, H, W]
  Tensor labels;      // int64 [B]
  int64_t index = 0;  // which batch of the epoch: 0, 1, ...
};

class DataLoader {
 public:
  // Runs on the worker thread on each batch after it is made (e.g. to add
  // noise); an exception it throws reaches the caller through next().
  using Transform = std::function<void(Batch&)>;

  // images: uint8 [N, H, W] on the CPU; labels: int64 [N]. The loader keeps
  // (contiguous) handles to both; do not write to them while it runs.
  // drop_last drops a final batch smaller than batch_size.
  DataLoader(Tensor images, Tensor labels, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last,
             PixelScale scale, Transform transform = {});
  ~DataLoader();  // stops and joins the worker, also mid-epoch
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t size() const { return n_; }  // N
  int64_t batch_size() const { return batch_size_; }
  int64_t batches_per_epoch() const;

  // Begins epoch `epoch` (>= 0): fixes its order and starts preparing its
  // batches from `first_batch` on (a run resumed mid-epoch skips the ones it
  // already trained on; the batches themselves do not change). Callable at any time; an epoch in progress is abandoned
  // (its worker stopped and joined, unread batches dropped).
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  // The epoch's next batch, or nullopt once all batches_per_epoch() were
  // served. Blocks (without spinning) until the worker has it. An exception
  // from the worker is rethrown here, after the batches made before it; the
  // epoch then ends. Throws if start_epoch was never called.
  std::optional<Batch> next();

  // The current epoch's order: position -> sample index (after start_epoch).
  const std::vector<int64_t>& order() const { return order_; }

  // Batch k of the current epoch, made on the calling thread by the code the
  // worker runs (without the transform). For tests and for callers that want
  // no thread.
  Batch make_batch(int64_t k) const;

  // The order of epoch `epoch` for n samples: 0..n-1, or a Philox-drawn
  // Fisher-Yates permutation of it when shuffling. A pure function.
  static std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch);

 private:
  void produce(int64_t first, int64_t count);  // the worker: batches first..count-1 into queue_
  void stop_worker();

  Tensor images_, labels_;
  const uint8_t* pixels_ = nullptr;
  const int64_t* label_values_ = nullptr;
  int64_t n_ = 0, height_ = 0, width_ = 0, batch_size_ = 0;
  bool shuffle_ = false, drop_last_ = false;
  uint64_t seed_ = 0;
  std::array<float, 256> scale_table_{};  // byte -> float, computed once
  Transform transform_;
  // The current epoch (-1 before the first) and its order; written only
  // while no worker runs, so the worker reads them without the lock.
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;

  // Shared with the worker, under mutex_. The queue holds at most
  // kQueueSlots batches; with the one the worker is making, that is how far
  // ahead of the caller it runs.
  static constexpr size_t kQueueSlots = 2;
  std::mutex mutex_;
  std::condition_variable ready_;  // worker -> caller: a batch, the end, or an error
  std::condition_variable space_;  // caller -> worker: a slot freed, or stop
  std::deque<Batch> queue_;
  std::exception_ptr error_;
  bool finished_ = false;  // the worker made its last batch (or failed)
  bool stop_ = false;      // the worker must quit
  bool started_ = false;   // start_epoch has run and its worker exists (caller-only)
  std::thread worker_;
};

}  // namespace dl
