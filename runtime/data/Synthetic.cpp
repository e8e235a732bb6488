//===- Synthetic.cpp - Deterministic synthetic classification data --------===//

#include "kiln/runtime/data/Synthetic.h"

#include "kiln/runtime/Philox.h"

#include "absl/strings/str_cat.h"

#include <cmath>
#include <vector>

namespace kiln::data {
namespace {

constexpr uint64_t kCentreStream = 0;
constexpr uint64_t kTrainNoiseStream = 1;
constexpr uint64_t kTestNoiseStream = 2;

float normal(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<float>(philox::standardNormal(seed, stream, index));
}

Dataset makeSplit(const GaussianClustersOptions &options, const std::vector<float> &centres,
                  int64_t numExamples, uint64_t noiseStream, absl::string_view split) {
  Dataset dataset;
  dataset.name = absl::StrCat(options.name, "/", split);
  dataset.exampleShape = {options.numFeatures};
  dataset.numClasses = options.numClasses;
  dataset.labels.resize(numExamples);
  dataset.features.resize(numExamples * options.numFeatures);
  for (int64_t i = 0; i < numExamples; ++i) {
    int32_t label = static_cast<int32_t>(i % options.numClasses);
    dataset.labels[i] = label;
    for (int64_t f = 0; f < options.numFeatures; ++f) {
      int64_t index = i * options.numFeatures + f;
      dataset.features[index] = centres[label * options.numFeatures + f] +
                                options.noise * normal(options.seed, noiseStream, index);
    }
  }
  return dataset;
}

} // namespace

absl::StatusOr<DatasetSplits> makeGaussianClusters(const GaussianClustersOptions &options) {
  auto invalid = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("synthetic dataset '", options.name, "': ", problem));
  };
  if (options.numTrainExamples < 1)
    return invalid(absl::StrCat("numTrainExamples must be >= 1, got ", options.numTrainExamples));
  if (options.numTestExamples < 0)
    return invalid(absl::StrCat("numTestExamples must be >= 0, got ", options.numTestExamples));
  if (options.numFeatures < 1)
    return invalid(absl::StrCat("numFeatures must be >= 1, got ", options.numFeatures));
  if (options.numClasses < 1)
    return invalid(absl::StrCat("numClasses must be >= 1, got ", options.numClasses));
  if (!std::isfinite(options.centreSpread) || options.centreSpread < 0)
    return invalid(
        absl::StrCat("centreSpread must be finite and >= 0, got ", options.centreSpread));
  if (!std::isfinite(options.noise) || options.noise < 0)
    return invalid(absl::StrCat("noise must be finite and >= 0, got ", options.noise));

  std::vector<float> centres(options.numClasses * options.numFeatures);
  for (size_t i = 0; i < centres.size(); ++i)
    centres[i] = options.centreSpread * normal(options.seed, kCentreStream, i);

  DatasetSplits splits;
  splits.train = makeSplit(options, centres, options.numTrainExamples, kTrainNoiseStream, "train");
  splits.test = makeSplit(options, centres, options.numTestExamples, kTestNoiseStream, "test");
  return splits;
}

} // namespace kiln::data
