//===- SyntheticTest.cpp - Gaussian-cluster generator ---------------------===//

#include "kiln/runtime/data/Synthetic.h"

#include "kiln/runtime/Philox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace kiln::data {
namespace {

using ::testing::HasSubstr;

GaussianClustersOptions smallOptions() {
  GaussianClustersOptions options;
  options.numTrainExamples = 200;
  options.numTestExamples = 100;
  options.numFeatures = 8;
  options.numClasses = 5;
  options.seed = 42;
  return options;
}

TEST(SyntheticTest, ShapesNamesAndBalancedLabels) {
  absl::StatusOr<DatasetSplits> splits = makeGaussianClusters(smallOptions());
  ASSERT_TRUE(splits.ok()) << splits.status();
  EXPECT_EQ(splits->train.size(), 200);
  EXPECT_EQ(splits->test.size(), 100);
  EXPECT_EQ(splits->train.exampleShape, (std::vector<int64_t>{8}));
  EXPECT_EQ(splits->train.name, "gaussian-clusters/train");
  EXPECT_EQ(splits->test.name, "gaussian-clusters/test");
  std::vector<int> counts(5);
  for (int32_t label : splits->train.labels)
    ++counts.at(label);
  EXPECT_EQ(counts, std::vector<int>(5, 40));
  EXPECT_TRUE(validateDataset(splits->train).ok());
  EXPECT_TRUE(validateDataset(splits->test).ok());
}

TEST(SyntheticTest, FollowsTheDocumentedFormula) {
  GaussianClustersOptions options = smallOptions();
  absl::StatusOr<DatasetSplits> splits = makeGaussianClusters(options);
  ASSERT_TRUE(splits.ok());
  auto z = [&](uint64_t stream, uint64_t index) {
    return static_cast<float>(philox::standardNormal(options.seed, stream, index));
  };
  int64_t example = 13, feature = 6, label = example % options.numClasses;
  float centre = options.centreSpread * z(0, label * options.numFeatures + feature);
  EXPECT_EQ(splits->train.example(example)[feature],
            centre + options.noise * z(1, example * options.numFeatures + feature));
  EXPECT_EQ(splits->test.example(example)[feature],
            centre + options.noise * z(2, example * options.numFeatures + feature));
}

TEST(SyntheticTest, DeterministicPerSeed) {
  GaussianClustersOptions options = smallOptions();
  absl::StatusOr<DatasetSplits> first = makeGaussianClusters(options);
  absl::StatusOr<DatasetSplits> second = makeGaussianClusters(options);
  options.seed = 43;
  absl::StatusOr<DatasetSplits> other = makeGaussianClusters(options);
  ASSERT_TRUE(first.ok() && second.ok() && other.ok());
  EXPECT_EQ(first->train.features, second->train.features);
  EXPECT_EQ(first->test.features, second->test.features);
  EXPECT_NE(first->train.features, other->train.features);
}

TEST(SyntheticTest, NearestCentreClassifiesTheTestSplit) {
  absl::StatusOr<DatasetSplits> splits = makeGaussianClusters(smallOptions());
  ASSERT_TRUE(splits.ok());
  const Dataset &train = splits->train;
  int64_t width = train.numFeatures();
  std::vector<double> means(train.numClasses * width);
  for (int64_t i = 0; i < train.size(); ++i)
    for (int64_t f = 0; f < width; ++f)
      means[train.labels[i] * width + f] += train.example(i)[f] / 40.0;
  int correct = 0;
  const Dataset &test = splits->test;
  for (int64_t i = 0; i < test.size(); ++i) {
    int best = 0;
    double bestDistance = std::numeric_limits<double>::infinity();
    for (int c = 0; c < test.numClasses; ++c) {
      double distance = 0;
      for (int64_t f = 0; f < width; ++f) {
        double delta = test.example(i)[f] - means[c * width + f];
        distance += delta * delta;
      }
      if (distance < bestDistance) {
        bestDistance = distance;
        best = c;
      }
    }
    correct += best == test.labels[i];
  }
  EXPECT_GE(correct, 95) << "the default spreads should make the classes separable";
}

TEST(SyntheticTest, RejectsBadOptions) {
  GaussianClustersOptions options = smallOptions();
  options.numClasses = 0;
  EXPECT_THAT(makeGaussianClusters(options).status().message(),
              HasSubstr("synthetic dataset 'gaussian-clusters': numClasses must be >= 1, got 0"));
  options = smallOptions();
  options.numFeatures = -1;
  EXPECT_THAT(makeGaussianClusters(options).status().message(),
              HasSubstr("numFeatures must be >= 1, got -1"));
  options = smallOptions();
  options.noise = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(makeGaussianClusters(options).status().message(),
              HasSubstr("noise must be finite and >= 0"));
  options = smallOptions();
  options.numTrainExamples = 0;
  EXPECT_THAT(makeGaussianClusters(options).status().message(),
              HasSubstr("numTrainExamples must be >= 1, got 0"));
}

} // namespace
} // namespace kiln::data
