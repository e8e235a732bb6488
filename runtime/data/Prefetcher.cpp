//===- Prefetcher.cpp - Batches staged ahead on a worker thread -----------===//

#include "kiln/runtime/data/Prefetcher.h"

#include "absl/strings/str_cat.h"

#include <chrono>

namespace kiln::data {

absl::StatusOr<std::unique_ptr<Prefetcher>> Prefetcher::create(BatchSource source, int64_t depth) {
  if (depth < 1)
    return absl::InvalidArgumentError(
        absl::StrCat("Prefetcher: depth must be >= 1 (2 is double buffering), got ", depth));
  if (!source)
    return absl::InvalidArgumentError("Prefetcher: the batch source is empty");
  return std::unique_ptr<Prefetcher>(new Prefetcher(std::move(source), depth));
}

absl::StatusOr<std::unique_ptr<Prefetcher>> Prefetcher::create(Batcher batcher, int64_t depth) {
  return create(
      [batcher = std::move(batcher)]() mutable -> absl::StatusOr<Batch> { return batcher.next(); },
      depth);
}

Prefetcher::Prefetcher(BatchSource source, int64_t depth)
    : source_(std::move(source)), depth_(depth) {
  worker_ = std::thread([this] { work(); });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  slotFree_.notify_all();
  batchReady_.notify_all();
  worker_.join();
}

void Prefetcher::work() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      slotFree_.wait(lock,
                     [&] { return stopping_ || static_cast<int64_t>(queue_.size()) < depth_; });
      if (stopping_)
        return;
    }
    // Outside the lock: the consumer keeps taking ready batches while this one is built.
    absl::StatusOr<Batch> batch = source_();
    bool failed = !batch.ok();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_)
        return;
      if (failed) {
        sourceFailed_ = true;
        sourceError_ = batch.status();
      } else {
        queue_.push_back(*std::move(batch));
      }
    }
    batchReady_.notify_one();
    if (failed)
      return;
  }
}

absl::StatusOr<Batch> Prefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  auto ready = [&] { return !queue_.empty() || sourceFailed_; };
  if (!ready()) {
    auto start = std::chrono::steady_clock::now();
    batchReady_.wait(lock, ready);
    auto waited = std::chrono::steady_clock::now() - start;
    waitNanoseconds_ += std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count();
  }
  if (queue_.empty())
    return sourceError_;
  Batch batch = std::move(queue_.front());
  queue_.pop_front();
  lock.unlock();
  slotFree_.notify_one();
  ++batchesDelivered_;
  return batch;
}

double Prefetcher::consumerWaitSeconds() const {
  return static_cast<double>(waitNanoseconds_.load()) * 1e-9;
}

} // namespace kiln::data
