//===- PrefetcherTest.cpp - Worker-thread batch staging -------------------===//

#include "kiln/runtime/data/Prefetcher.h"

#include "kiln/runtime/data/Synthetic.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace kiln::data {
namespace {

using ::testing::HasSubstr;

Batcher syntheticBatcher(uint64_t seed) {
  GaussianClustersOptions options;
  options.numTrainExamples = 100;
  options.numTestExamples = 0;
  options.numFeatures = 6;
  absl::StatusOr<DatasetSplits> splits = makeGaussianClusters(options);
  EXPECT_TRUE(splits.ok());
  absl::StatusOr<Batcher> batcher = Batcher::create(
      std::make_shared<const Dataset>(std::move(splits->train)), {.batchSize = 16, .seed = seed});
  EXPECT_TRUE(batcher.ok());
  return *std::move(batcher);
}

void expectSameBatch(const Batch &actual, const Batch &expected) {
  EXPECT_EQ(actual.position, expected.position);
  ASSERT_EQ(actual.tensors.size(), expected.tensors.size());
  for (const auto &[name, tensor] : expected.tensors) {
    const HostTensor &other = actual.tensors.at(name);
    EXPECT_EQ(other.describe(), tensor.describe());
    EXPECT_TRUE(std::equal(other.bytes().begin(), other.bytes().end(), tensor.bytes().begin(),
                           tensor.bytes().end()))
        << name << " differs at epoch " << expected.position.epoch << " batch "
        << expected.position.batch;
  }
}

/// A source of empty batches numbered 0, 1, 2, ... that counts its calls.
BatchSource countingSource(std::atomic<int64_t> &calls) {
  return [&calls]() -> absl::StatusOr<Batch> {
    int64_t index = calls++;
    return Batch{.position = {0, index}, .nextPosition = {0, index + 1}, .tensors = {}};
  };
}

TEST(PrefetcherTest, DeliversTheSynchronousSequenceAcrossEpochs) {
  Batcher synchronous = syntheticBatcher(3);
  absl::StatusOr<std::unique_ptr<Prefetcher>> prefetcher = Prefetcher::create(syntheticBatcher(3));
  ASSERT_TRUE(prefetcher.ok()) << prefetcher.status();
  // 6 batches per epoch: 20 batches cross three epoch boundaries.
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<Batch> batch = (*prefetcher)->next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    expectSameBatch(*batch, synchronous.next());
  }
  EXPECT_EQ((*prefetcher)->batchesDelivered(), 20);
  EXPECT_GE((*prefetcher)->consumerWaitSeconds(), 0.0);
}

TEST(PrefetcherTest, StartsWhereTheBatcherWasSeeked) {
  Batcher resumed = syntheticBatcher(8);
  ASSERT_TRUE(resumed.seek({2, 4}).ok());
  Batcher reference = resumed;
  absl::StatusOr<std::unique_ptr<Prefetcher>> prefetcher =
      Prefetcher::create(std::move(resumed), /*depth=*/3);
  ASSERT_TRUE(prefetcher.ok());
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Batch> batch = (*prefetcher)->next();
    ASSERT_TRUE(batch.ok());
    expectSameBatch(*batch, reference.next());
  }
}

TEST(PrefetcherTest, PropagatesASourceErrorAfterTheBatchesBeforeIt) {
  int calls = 0;
  BatchSource failsOnThirdCall = [&calls]() -> absl::StatusOr<Batch> {
    if (++calls == 3)
      return absl::DataLossError("disk went away");
    return Batch{.position = {0, calls - 1}, .nextPosition = {}, .tensors = {}};
  };
  absl::StatusOr<std::unique_ptr<Prefetcher>> prefetcher =
      Prefetcher::create(failsOnThirdCall, /*depth=*/4);
  ASSERT_TRUE(prefetcher.ok());
  for (int64_t expected : {0, 1}) {
    absl::StatusOr<Batch> batch = (*prefetcher)->next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ(batch->position.batch, expected);
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<Batch> batch = (*prefetcher)->next();
    EXPECT_EQ(batch.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(batch.status().message(), "disk went away");
  }
  EXPECT_EQ(calls, 3) << "the worker must stop calling a failed source";
}

TEST(PrefetcherTest, KeepsAtMostDepthBatchesAhead) {
  std::atomic<int64_t> calls = 0;
  absl::StatusOr<std::unique_ptr<Prefetcher>> prefetcher =
      Prefetcher::create(countingSource(calls), /*depth=*/3);
  ASSERT_TRUE(prefetcher.ok());
  // Wait (up to 10 s) for the worker to fill the queue, then give it time to overrun.
  for (int i = 0; i < 10000 && calls < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls, 3);
  ASSERT_TRUE((*prefetcher)->next().ok());
  for (int i = 0; i < 10000 && calls < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls, 4);
}

TEST(PrefetcherTest, ShutsDownCleanlyWhenTheConsumerStopsEarly) {
  // Destroyed with a full queue, with a worker blocked on it.
  std::atomic<int64_t> calls = 0;
  {
    absl::StatusOr<std::unique_ptr<Prefetcher>> prefetcher =
        Prefetcher::create(countingSource(calls), /*depth=*/2);
    ASSERT_TRUE(prefetcher.ok());
    ASSERT_TRUE((*prefetcher)->next().ok());
    for (int i = 0; i < 10000 && calls < 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(calls, 3);
  // Destroyed before the first batch, with the worker inside a slow source call.
  std::atomic<bool> inside = false;
  {
    absl::StatusOr<std::unique_ptr<Prefetcher>> prefetcher =
        Prefetcher::create([&inside]() -> absl::StatusOr<Batch> {
          inside = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(30));
          return Batch{};
        });
    ASSERT_TRUE(prefetcher.ok());
    for (int i = 0; i < 10000 && !inside; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(inside);
  // Destroyed right after creation.
  {
    absl::StatusOr<std::unique_ptr<Prefetcher>> prefetcher =
        Prefetcher::create(syntheticBatcher(1), /*depth=*/1);
    ASSERT_TRUE(prefetcher.ok());
  }
}

TEST(PrefetcherTest, CountsTheTimeTheConsumerWaits) {
  absl::StatusOr<std::unique_ptr<Prefetcher>> prefetcher =
      Prefetcher::create([]() -> absl::StatusOr<Batch> {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return Batch{};
      });
  ASSERT_TRUE(prefetcher.ok());
  EXPECT_EQ((*prefetcher)->consumerWaitSeconds(), 0.0);
  ASSERT_TRUE((*prefetcher)->next().ok());
  ASSERT_TRUE((*prefetcher)->next().ok());
  EXPECT_GT((*prefetcher)->consumerWaitSeconds(), 0.0);
}

TEST(PrefetcherTest, RejectsBadArguments) {
  std::atomic<int64_t> calls = 0;
  EXPECT_THAT(Prefetcher::create(countingSource(calls), 0).status().message(),
              HasSubstr("depth must be >= 1 (2 is double buffering), got 0"));
  EXPECT_THAT(Prefetcher::create(BatchSource(), 2).status().message(),
              HasSubstr("the batch source is empty"));
}

} // namespace
} // namespace kiln::data
