// thread_pool.cpp — see thread_pool.h.
//
// The pool keeps up to num_threads() - 1 workers waiting for a job.
// parallel_for publishes one job (the function and the chunk count), bumps a
// generation number and wakes them; every thread, the caller included, then
// claims chunk indices until none are left. Chunk i always covers the same
// indices, whichever thread runs it.
//
// Waiting spins for a short while before it sleeps on a condition variable.
// A training step runs hundreds of parallel_for calls, most of them a
// few hundred microseconds apart or less; waking a sleeping thread costs a
// system call and tens of microseconds of scheduling each time, while a
// spinning one sees the new generation within a few hundred nanoseconds.
#include "tensor/cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tensor/error.h"

namespace dl {

namespace {

// True on pool workers and on a caller while it runs chunks: a parallel_for
// issued there runs inline.
thread_local bool inside_parallel_region = false;

// Returns once `ready()` holds or about kSpinMicroseconds have passed,
// whichever comes first; the caller then sleeps if it still must wait.
constexpr int64_t kSpinMicroseconds = 200;

template <typename Ready>
void spin_until(const Ready& ready) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicroseconds);
  for (int64_t round = 0;; ++round) {
    if (ready()) return;
    if (round % 64 == 63 && std::chrono::steady_clock::now() > give_up) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

int default_thread_count() {
  if (const char* env = std::getenv("DL_NUM_THREADS")) {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    check(end != env && *end == '\0' && value >= 1 && value <= 1024, "DL_NUM_THREADS: expected a thread count in ",
          "[1, 1024], got \"", env, "\"");
    return static_cast<int>(value);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

class ThreadPool {
 public:
  ThreadPool() : threads_(default_thread_count()) {}
  ~ThreadPool() { stop_workers(); }

  int threads() const { return threads_.load(); }

  void set_threads(int threads) {
    check(threads >= 1, "set_num_threads: expected at least 1 thread, got ", threads);
    std::lock_guard<std::mutex> busy(run_mutex_);  // never resize under a running job
    stop_workers();
    threads_ = threads;
  }

  // Runs fn on the chunks of [begin, end); returns false (having run nothing)
  // when another thread of the program is using the pool.
  bool try_run(int64_t begin, int64_t end, int64_t chunks, const std::function<void(int64_t, int64_t)>& fn) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    start_workers(static_cast<int>(chunks) - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = Job{&fn, begin, end, chunks};
      next_chunk_ = 0;
      chunks_done_ = 0;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_chunks();
    spin_until([&] { return chunks_done_.load() == chunks; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return chunks_done_ == job_.chunks; });
    job_ = Job{};  // a worker waking late finds nothing to take
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  struct Job {
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    int64_t begin = 0, end = 0, chunks = 0;
  };

  // Chunk i of n over [begin, end): the first (end - begin) % n chunks get
  // one index more than the others.
  static void chunk_bounds(const Job& job, int64_t i, int64_t* lo, int64_t* hi) {
    const int64_t size = job.end - job.begin, base = size / job.chunks, extra = size % job.chunks;
    *lo = job.begin + i * base + std::min(i, extra);
    *hi = *lo + base + (i < extra ? 1 : 0);
  }

  // Takes chunks of the current job until none are left; run by the workers
  // and by the caller. Chunks are claimed under the mutex (there are at most
  // num_threads() of them), so a worker waking late can never see a job
  // half-written or run a chunk of a job that has already returned.
  void run_chunks() {
    const bool was_inside = inside_parallel_region;
    inside_parallel_region = true;
    std::unique_lock<std::mutex> lock(mutex_);
    while (next_chunk_ < job_.chunks) {
      const Job job = job_;
      const int64_t i = next_chunk_++;
      lock.unlock();
      int64_t lo = 0, hi = 0;
      chunk_bounds(job, i, &lo, &hi);
      std::exception_ptr failure;
      try {
        (*job.fn)(lo, hi);
      } catch (...) {
        failure = std::current_exception();  // rethrown by the caller, never dropped
      }
      lock.lock();
      if (failure && !error_) error_ = failure;
      if (++chunks_done_ == job.chunks) done_.notify_all();
    }
    inside_parallel_region = was_inside;
  }

  void worker_loop(uint64_t seen) {
    inside_parallel_region = true;
    for (;;) {
      spin_until([&] { return stopping_.load() || generation_.load() != seen; });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      run_chunks();
    }
  }

  // Workers are started on first use, so a program that never runs a large
  // kernel never starts a thread.
  void start_workers(int wanted) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (static_cast<int>(workers_.size()) < wanted)
      workers_.emplace_back([this, seen = generation_.load()] { worker_loop(seen); });
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
    stopping_ = false;
  }

  std::atomic<int> threads_;
  std::mutex run_mutex_;  // held by the one parallel_for using the pool
  std::mutex mutex_;      // guards the fields below
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Job job_;
  int64_t next_chunk_ = 0;
  // Written under mutex_ only, but also read without it while spinning.
  std::atomic<int64_t> chunks_done_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
};

ThreadPool& pool() {
  static ThreadPool instance;
  return instance;
}

// At most num_threads() chunks of at least `grain` indices each.
int64_t chunk_count(int64_t count, int64_t grain) {
  const int64_t by_grain = std::max<int64_t>(1, count / std::max<int64_t>(1, grain));
  return std::min<int64_t>(by_grain, pool().threads());
}

}  // namespace

void set_num_threads(int threads) {
  check(!inside_parallel_region, "set_num_threads: cannot be called from inside parallel_for");
  pool().set_threads(threads);
}

int num_threads() { return pool().threads(); }

void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t chunks = inside_parallel_region ? 1 : chunk_count(end - begin, grain);
  if (chunks <= 1 || !pool().try_run(begin, end, chunks, fn)) fn(begin, end);
}

}  // namespace dl
