// thread_pool.h — the CPU kernels' threads: one process-wide pool of workers
// and parallel_for, which splits an index range into contiguous chunks.
//
// Determinism: parallel_for only decides which thread runs which chunk; a
// kernel that gives every output element to exactly one chunk and computes it
// in a fixed order (never splitting a sum across chunks) produces bit-identical
// results for any thread count. The GEMM, im2col / col2im and the element-wise
// kernels are all written that way.
//
// No oversubscription: a parallel_for called from inside a chunk (nested) runs
// its whole range inline, and a parallel_for called while another thread of
// the program is using the pool runs inline too, instead of waiting for it.
#pragma once

#include <cstdint>
#include <functional>

namespace dl {

// Threads the CPU kernels use, including the calling thread (at least 1).
// The default is the number of hardware threads, or DL_NUM_THREADS if set.
void set_num_threads(int threads);
int num_threads();

// Calls fn(chunk_begin, chunk_end) on contiguous chunks that cover
// [begin, end) exactly, in parallel, and returns when all are done. There are
// at most num_threads() chunks, each of at least `grain` indices (except when
// the whole range is smaller), so a range of fewer than 2 * grain indices runs
// inline as a single call. An exception thrown by fn is rethrown here (the
// first one, once every chunk has finished).
void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace dl
