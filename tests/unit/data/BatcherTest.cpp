//===- BatcherTest.cpp - Batch contents, shuffling, resume ----------------===//

#include "kiln/runtime/data/Batcher.h"

#include "kiln/runtime/Philox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>

namespace kiln::data {
namespace {

using ::testing::HasSubstr;

/// `size` examples of 3 features: example i is {i, i + 0.25, i + 0.5}, label i % 4.
std::shared_ptr<const Dataset> numberedDataset(int64_t size) {
  auto dataset = std::make_shared<Dataset>();
  dataset->name = "numbered";
  dataset->exampleShape = {3};
  dataset->numClasses = 4;
  for (int64_t i = 0; i < size; ++i) {
    for (float offset : {0.0f, 0.25f, 0.5f})
      dataset->features.push_back(static_cast<float>(i) + offset);
    dataset->labels.push_back(static_cast<int32_t>(i % 4));
  }
  return dataset;
}

Batcher makeBatcher(int64_t size, BatcherOptions options) {
  absl::StatusOr<Batcher> batcher = Batcher::create(numberedDataset(size), std::move(options));
  EXPECT_TRUE(batcher.ok()) << batcher.status();
  return *std::move(batcher);
}

/// The examples a batch holds, recovered from the first feature of each row.
std::vector<uint32_t> examplesOf(const Batch &batch, std::string_view input = "images") {
  std::vector<uint32_t> examples;
  const HostTensor &images = batch.tensors.find(input)->second;
  for (int64_t row = 0; row < images.shape()[0]; ++row)
    examples.push_back(static_cast<uint32_t>(images.f32()[row * 3]));
  return examples;
}

TEST(BatcherTest, DropsThePartialBatch) {
  Batcher batcher = makeBatcher(10, {.batchSize = 4});
  EXPECT_EQ(batcher.batchesPerEpoch(), 2);
  EXPECT_EQ(makeBatcher(8, {.batchSize = 4}).batchesPerEpoch(), 2);
}

TEST(BatcherTest, BatchesHoldDatasetRowsInPermutationOrder) {
  Batcher batcher = makeBatcher(11, {.batchSize = 4, .seed = 7});
  std::shared_ptr<const Dataset> dataset = numberedDataset(11);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<uint32_t> order = batcher.epochOrder(epoch);
    for (int64_t index = 0; index < batcher.batchesPerEpoch(); ++index) {
      Batch batch = batcher.next();
      EXPECT_EQ(batch.position, (DataPosition{epoch, index}));
      ASSERT_EQ(batch.tensors.size(), 2u);
      const HostTensor &images = batch.tensors.at("images");
      const HostTensor &labels = batch.tensors.at("labels");
      ASSERT_EQ(images.describe(), "f32[4x3]");
      ASSERT_EQ(labels.describe(), "i32[4]");
      for (int64_t row = 0; row < 4; ++row) {
        uint32_t example = order[index * 4 + row];
        for (int64_t f = 0; f < 3; ++f)
          EXPECT_EQ(images.f32()[row * 3 + f], dataset->example(example)[f]);
        EXPECT_EQ(labels.i32()[row], dataset->labels[example]);
      }
    }
  }
  EXPECT_EQ(batcher.position(), (DataPosition{3, 0}));
}

TEST(BatcherTest, EveryEpochOrderIsAPermutation) {
  Batcher batcher = makeBatcher(100, {.batchSize = 10, .seed = 3});
  for (int64_t epoch : {0, 1, 17}) {
    std::vector<uint32_t> order = batcher.epochOrder(epoch);
    std::sort(order.begin(), order.end());
    std::vector<uint32_t> identity(100);
    std::iota(identity.begin(), identity.end(), 0);
    EXPECT_EQ(order, identity) << "epoch " << epoch;
  }
}

TEST(BatcherTest, ShuffleIsReproducibleAndDiffersPerEpochAndSeed) {
  Batcher first = makeBatcher(64, {.batchSize = 8, .seed = 11});
  Batcher second = makeBatcher(64, {.batchSize = 8, .seed = 11});
  Batcher otherSeed = makeBatcher(64, {.batchSize = 8, .seed = 12});
  EXPECT_EQ(first.epochOrder(0), second.epochOrder(0));
  EXPECT_EQ(first.epochOrder(5), second.epochOrder(5));
  EXPECT_NE(first.epochOrder(0), first.epochOrder(1));
  EXPECT_NE(first.epochOrder(0), otherSeed.epochOrder(0));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(examplesOf(first.next()), examplesOf(second.next()));
}

TEST(BatcherTest, ShuffleOffKeepsDatasetOrder) {
  Batcher batcher = makeBatcher(9, {.batchSize = 3, .shuffle = false});
  EXPECT_EQ(examplesOf(batcher.next()), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(examplesOf(batcher.next()), (std::vector<uint32_t>{3, 4, 5}));
  EXPECT_EQ(examplesOf(batcher.next()), (std::vector<uint32_t>{6, 7, 8}));
  EXPECT_EQ(examplesOf(batcher.next()), (std::vector<uint32_t>{0, 1, 2}));
}

TEST(BatcherTest, OrderFollowsTheDocumentedFisherYates) {
  Batcher batcher = makeBatcher(50, {.batchSize = 5, .seed = 99});
  for (int64_t epoch : {0, 4}) {
    std::vector<uint32_t> expected(50);
    std::iota(expected.begin(), expected.end(), 0);
    uint64_t stream = kShuffleStreamBase + epoch;
    for (uint64_t k = 0; k + 1 < 50; ++k) {
      uint64_t random = uint64_t{philox::randomWord(99, stream, 2 * k)} |
                        uint64_t{philox::randomWord(99, stream, 2 * k + 1)} << 32;
      uint64_t i = 49 - k;
      uint64_t j = static_cast<uint64_t>((static_cast<unsigned __int128>(random) * (i + 1)) >> 64);
      std::swap(expected[i], expected[j]);
    }
    EXPECT_EQ(batcher.epochOrder(epoch), expected) << "epoch " << epoch;
  }
}

TEST(BatcherTest, AllOrdersOfFourAreEquallyLikely) {
  // 2400 epochs over 4 examples: each of the 24 orders should appear about 100 times. A
  // Fisher-Yates off by one (Sattolo's algorithm, or j drawn from [0, n)) reaches only some
  // orders or skews them far outside this band.
  Batcher batcher = makeBatcher(4, {.batchSize = 4, .seed = 5});
  std::map<std::vector<uint32_t>, int> counts;
  for (int64_t epoch = 0; epoch < 2400; ++epoch)
    ++counts[batcher.epochOrder(epoch)];
  EXPECT_EQ(counts.size(), 24u);
  for (const auto &[order, count] : counts) {
    EXPECT_GT(count, 60);
    EXPECT_LT(count, 140);
  }
}

TEST(BatcherTest, ResumeAtEpochAndBatchGivesTheSameBatches) {
  Batcher uninterrupted = makeBatcher(23, {.batchSize = 5, .seed = 1});
  std::vector<Batch> reference;
  for (int i = 0; i < 14; ++i)
    reference.push_back(uninterrupted.next());

  // A checkpoint taken after batch 6 records that batch's nextPosition.
  DataPosition saved = reference[6].nextPosition;
  EXPECT_EQ(saved, (DataPosition{1, 3}));
  Batcher resumed = makeBatcher(23, {.batchSize = 5, .seed = 1});
  ASSERT_TRUE(resumed.seek(saved).ok());
  for (int i = 7; i < 14; ++i) {
    Batch batch = resumed.next();
    EXPECT_EQ(batch.position, reference[i].position);
    EXPECT_EQ(examplesOf(batch), examplesOf(reference[i])) << "batch " << i;
    EXPECT_EQ(batch.tensors.at("labels").i32()[0], reference[i].tensors.at("labels").i32()[0]);
  }
  for (int i = 0; i < 14; ++i) {
    absl::StatusOr<Batch> batch = resumed.batchAt(reference[i].position);
    ASSERT_TRUE(batch.ok());
    EXPECT_EQ(examplesOf(*batch), examplesOf(reference[i])) << "batchAt " << i;
  }
}

TEST(BatcherTest, SeekOutOfRangeKeepsTheCursor) {
  Batcher batcher = makeBatcher(10, {.batchSize = 4});
  batcher.next();
  absl::Status status = batcher.seek({0, 2});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(),
              HasSubstr("position (epoch 0, batch 2) is out of range; epochs are >= 0 and each "
                        "has 2 batches (10 examples / batch size 4)"));
  EXPECT_EQ(batcher.seek({-1, 0}).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(batcher.batchAt({0, -1}).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(batcher.position(), (DataPosition{0, 1}));
}

TEST(BatcherTest, InputNamesAndShapesAreConfigurable) {
  auto dataset = std::make_shared<Dataset>(*numberedDataset(6));
  dataset->exampleShape = {1, 3};
  absl::StatusOr<Batcher> batcher = Batcher::create(
      dataset, {.batchSize = 2, .imagesInput = "x", .labelsInput = "y", .flattenImages = false});
  ASSERT_TRUE(batcher.ok()) << batcher.status();
  Batch batch = batcher->next();
  EXPECT_EQ(batch.tensors.at("x").describe(), "f32[2x1x3]");
  EXPECT_EQ(batch.tensors.at("y").describe(), "i32[2]");
  EXPECT_FALSE(batch.tensors.contains("images"));
}

/// `size` examples of a token dataset without images: field "tokens" i32 [size, 4] (row i is
/// 10i .. 10i + 3) and "weights" f32 [size] (example i weighs i / 2).
std::shared_ptr<const Dataset> tokenDataset(int64_t size) {
  auto dataset = std::make_shared<Dataset>();
  dataset->name = "tokens";
  HostTensor tokens(DType::kI32, {size, 4});
  HostTensor weights(DType::kF32, {size});
  for (int64_t i = 0; i < size; ++i) {
    for (int64_t t = 0; t < 4; ++t)
      tokens.i32()[i * 4 + t] = static_cast<int32_t>(10 * i + t);
    weights.f32()[i] = static_cast<float>(i) / 2;
  }
  dataset->extraFields.emplace("tokens", std::move(tokens));
  dataset->extraFields.emplace("weights", std::move(weights));
  return dataset;
}

TEST(BatcherTest, ServesAnyFieldsByName) {
  std::shared_ptr<const Dataset> dataset = tokenDataset(6);
  ASSERT_TRUE(validateDataset(*dataset).ok()) << validateDataset(*dataset);
  EXPECT_EQ(dataset->size(), 6);
  std::vector<FieldSpec> fields = dataset->fields();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].name, "tokens");
  EXPECT_EQ(fields[0].describe(), "i32 [4]");
  EXPECT_EQ(fields[1].describe(), "f32 []");
  absl::StatusOr<Batcher> batcher =
      Batcher::create(dataset, {.batchSize = 2, .seed = 3, .fields = {{"tokens"}, {"weights"}}});
  ASSERT_TRUE(batcher.ok()) << batcher.status();
  std::vector<uint32_t> order = batcher->epochOrder(0);
  Batch batch = batcher->next();
  ASSERT_EQ(batch.tensors.size(), 2u);
  const HostTensor &tokens = batch.tensors.at("tokens");
  EXPECT_EQ(tokens.describe(), "i32[2x4]");
  EXPECT_EQ(batch.tensors.at("weights").describe(), "f32[2]");
  for (int64_t row = 0; row < 2; ++row) {
    for (int64_t t = 0; t < 4; ++t)
      EXPECT_EQ(tokens.i32()[row * 4 + t], static_cast<int32_t>(10 * order[row] + t));
    EXPECT_EQ(batch.tensors.at("weights").f32()[row], static_cast<float>(order[row]) / 2);
  }
}

TEST(BatcherTest, FieldsOfAnImageDatasetCanBeRenamedAndFlattened) {
  auto dataset = std::make_shared<Dataset>(*numberedDataset(4));
  dataset->exampleShape = {1, 3};
  absl::StatusOr<Batcher> batcher = Batcher::create(
      dataset, {.batchSize = 2, .shuffle = false, .fields = {{"images", "pixels", true}}});
  ASSERT_TRUE(batcher.ok()) << batcher.status();
  Batch batch = batcher->next();
  ASSERT_EQ(batch.tensors.size(), 1u);
  EXPECT_EQ(batch.tensors.at("pixels").describe(), "f32[2x3]");
  EXPECT_EQ(examplesOf(batch, "pixels"), (std::vector<uint32_t>{0, 1}));
}

TEST(BatcherTest, ExtraFieldsAreValidatedAndSelectedWithTheExamples) {
  auto dataset = std::make_shared<Dataset>(*numberedDataset(4));
  dataset->extraFields.emplace("weights", HostTensor(DType::kF32, {3}));
  EXPECT_THAT(validateDataset(*dataset).message(),
              HasSubstr("field 'weights' is f32[3], 3 examples, but the dataset has 4"));
  dataset->extraFields.clear();
  dataset->extraFields.emplace("labels", HostTensor(DType::kF32, {4}));
  EXPECT_THAT(validateDataset(*dataset).message(), HasSubstr("an extra field is named 'labels'"));

  std::shared_ptr<const Dataset> tokens = tokenDataset(5);
  std::vector<int64_t> indices = {4, 1};
  Dataset selected = selectExamples(*tokens, indices, "picked");
  ASSERT_TRUE(validateDataset(selected).ok()) << validateDataset(selected);
  EXPECT_EQ(selected.size(), 2);
  EXPECT_EQ(selected.extraFields.at("tokens").i32()[0], 40);
  EXPECT_EQ(selected.extraFields.at("tokens").i32()[4], 10);
  EXPECT_EQ(selected.extraFields.at("weights").f32()[1], 0.5f);
}

TEST(BatcherTest, RejectsBadConfigurations) {
  auto message = [](std::shared_ptr<const Dataset> dataset, BatcherOptions options) {
    return std::string(Batcher::create(std::move(dataset), std::move(options)).status().message());
  };
  EXPECT_THAT(message(numberedDataset(10), {.batchSize = 11}),
              HasSubstr("Batcher for dataset 'numbered': batchSize 11 is larger than the 10 "
                        "examples"));
  EXPECT_THAT(message(numberedDataset(10), {.batchSize = 0}),
              HasSubstr("batchSize must be >= 1, got 0"));
  EXPECT_THAT(message(numberedDataset(10), {.batchSize = 2, .labelsInput = "images"}),
              HasSubstr("the images and labels inputs have the same name 'images'"));
  EXPECT_THAT(message(nullptr, {}), HasSubstr("the dataset is null"));
  EXPECT_THAT(message(numberedDataset(10), {.batchSize = 2, .fields = {{"tokens"}}}),
              HasSubstr("it has no field 'tokens'; its fields are images (f32 [3]), labels "
                        "(i32 [])"));
  EXPECT_THAT(
      message(numberedDataset(10), {.batchSize = 2, .fields = {{"images", "x"}, {"labels", "x"}}}),
      HasSubstr("two batch tensors are named 'x'"));

  auto badLabel = std::make_shared<Dataset>(*numberedDataset(4));
  badLabel->labels[2] = 4;
  EXPECT_THAT(message(badLabel, {.batchSize = 2}),
              HasSubstr("dataset 'numbered': label 4 of example 2 is outside 0..3"));
  auto badFeatures = std::make_shared<Dataset>(*numberedDataset(4));
  badFeatures->features.pop_back();
  EXPECT_THAT(message(badFeatures, {.batchSize = 2}),
              HasSubstr("holds 11 feature values but 4 examples of 3 features need 12"));
}

} // namespace
} // namespace kiln::data
