//===- Prefetcher.h - Batches staged ahead on a worker thread ---*- C++ -*-===//
//
// Overlaps data preparation with the device step: a worker thread calls a
// batch source (normally a Batcher: shuffle, gather, copy) and keeps up to
// `depth` finished batches in a bounded queue (2 = double buffering). The
// consumer takes them in order with next(). The worker is joined by the
// destructor, which never waits for the queue to drain, so a consumer may stop
// at any point. The time the consumer spends blocked in next() is accumulated
// so a trainer can report whether it is input-bound.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_PREFETCHER_H
#define KILN_RUNTIME_DATA_PREFETCHER_H

#include "kiln/runtime/data/Batcher.h"

#include "absl/status/statusor.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace kiln::data {

/// Produces the next batch; called on the worker thread only, one call at a time. An error
/// ends the stream: the consumer receives it after the batches produced before it.
using BatchSource = std::function<absl::StatusOr<Batch>()>;

/// Prepares batches ahead of the consumer on one worker thread.
class Prefetcher {
public:
  /// Starts a worker that calls `source` until it fails or the prefetcher is destroyed, keeping
  /// at most `depth` batches ready. Fails with InvalidArgument when depth < 1 or the source is
  /// empty.
  static absl::StatusOr<std::unique_ptr<Prefetcher>> create(BatchSource source, int64_t depth = 2);
  /// Serves `batcher`'s batches from its current position on, in the order batcher.next()
  /// would; the worker owns the batcher (and so shares its dataset).
  static absl::StatusOr<std::unique_ptr<Prefetcher>> create(Batcher batcher, int64_t depth = 2);

  /// Stops the worker and joins it. If the worker is inside a source call, waits for that call
  /// to return; queued batches are discarded.
  ~Prefetcher();
  Prefetcher(const Prefetcher &) = delete;
  Prefetcher &operator=(const Prefetcher &) = delete;

  /// The next batch, blocking until the worker has one. After the source fails, returns the
  /// source's error (once the batches before it are delivered), and the same error on every
  /// later call. Call from one consumer thread.
  absl::StatusOr<Batch> next();

  /// Total seconds next() has spent waiting for the worker; safe to read from any thread.
  double consumerWaitSeconds() const;
  /// Batches next() has returned.
  int64_t batchesDelivered() const { return batchesDelivered_.load(); }
  int64_t depth() const { return depth_; }

private:
  Prefetcher(BatchSource source, int64_t depth);
  void work();

  BatchSource source_;
  const int64_t depth_;

  std::mutex mutex_;
  std::condition_variable batchReady_;
  std::condition_variable slotFree_;
  std::deque<Batch> queue_;
  bool stopping_ = false;
  /// Set when the source has failed; the worker has then exited.
  bool sourceFailed_ = false;
  absl::Status sourceError_;

  std::atomic<int64_t> waitNanoseconds_{0};
  std::atomic<int64_t> batchesDelivered_{0};
  std::thread worker_;
};

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_PREFETCHER_H
