//===- FashionMnistTest.cpp - The real Fashion-MNIST, when installed ------===//
//
// Loads Debian's dataset-fashion-mnist (scripts/install-deps.sh installs it in
// CI) and checks what is known about it: 60000 + 10000 images of 28x28, 6000 /
// 1000 of each of the 10 classes, and the first labels of the training set.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/data/Batcher.h"
#include "kiln/runtime/data/Mnist.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace kiln::data {
namespace {

TEST(FashionMnistTest, LoadsTheInstalledDataset) {
  if (!std::filesystem::is_directory(kFashionMnistDirectory))
    GTEST_SKIP() << kFashionMnistDirectory
                 << " is absent; install Debian's dataset-fashion-mnist package to run this test";
  absl::StatusOr<DatasetSplits> splits = loadMnistDirectory(kFashionMnistDirectory);
  ASSERT_TRUE(splits.ok()) << splits.status();

  struct Expected {
    const Dataset &dataset;
    int64_t size;
    const char *name;
  };
  for (const Expected &expected : {Expected{splits->train, 60000, "fashion-mnist/train"},
                                   Expected{splits->test, 10000, "fashion-mnist/test"}}) {
    const Dataset &dataset = expected.dataset;
    EXPECT_EQ(dataset.name, expected.name);
    EXPECT_EQ(dataset.size(), expected.size);
    EXPECT_EQ(dataset.numFeatures(), 784);
    EXPECT_EQ(dataset.exampleShape, (std::vector<int64_t>{28, 28}));
    EXPECT_EQ(dataset.numClasses, 10);
    std::vector<int64_t> counts(10);
    for (int32_t label : dataset.labels) {
      ASSERT_GE(label, 0);
      ASSERT_LE(label, 9);
      ++counts[label];
    }
    EXPECT_EQ(counts, std::vector<int64_t>(10, expected.size / 10)) << dataset.name;
    auto [smallest, largest] =
        std::minmax_element(dataset.features.begin(), dataset.features.end());
    EXPECT_EQ(*smallest, 0.0f);
    EXPECT_EQ(*largest, 1.0f);
  }

  const Dataset &train = splits->train;
  EXPECT_EQ(std::vector<int32_t>(train.labels.begin(), train.labels.begin() + 10),
            (std::vector<int32_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  std::span<const float> first = train.example(0);
  double pixelSum = std::accumulate(first.begin(), first.end(), 0.0) * 255.0;
  EXPECT_NEAR(pixelSum, 76247.0, 0.05) << "sum of the raw bytes of the first training image";

  absl::StatusOr<Batcher> batcher =
      Batcher::create(std::make_shared<const Dataset>(train), {.batchSize = 128});
  ASSERT_TRUE(batcher.ok());
  EXPECT_EQ(batcher->batchesPerEpoch(), 468);
  EXPECT_EQ(batcher->next().tensors.at("images").describe(), "f32[128x784]");
}

} // namespace
} // namespace kiln::data
