//===- TrainData.cpp - The datasets kiln train reads ----------------------===//

#include "TrainData.h"

#include "kiln/runtime/data/Cifar10.h"
#include "kiln/runtime/data/Mnist.h"
#include "kiln/runtime/data/Synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

namespace kiln::tool {

absl::StatusOr<data::DatasetSplits> loadData(const std::string &data, const plan::Plan &plan,
                                             uint64_t seed) {
  if (data == "synthetic") {
    std::vector<int64_t> exampleShape = {16};
    for (const plan::Input &input : plan.inputs())
      if (input.tensor().name() == data::kImagesField && input.tensor().shape_size() >= 2)
        exampleShape.assign(input.tensor().shape().begin() + 1, input.tensor().shape().end());
    data::GaussianClustersOptions options;
    options.numFeatures = 1;
    for (int64_t dimension : exampleShape)
      options.numFeatures *= dimension;
    options.numClasses = 10;
    options.numTrainExamples = 8192;
    options.numTestExamples = 2048;
    options.seed = seed;
    auto splits = data::makeGaussianClusters(options);
    if (!splits.ok())
      return splits.status();
    // The features are stored flat; the example shape only says how to read them.
    splits->train.exampleShape = exampleShape;
    splits->test.exampleShape = exampleShape;
    return splits;
  }
  if (std::string_view(data).starts_with("cifar10:")) {
    auto splits = data::loadCifar10Directory(data.substr(std::strlen("cifar10:")));
    if (!splits.ok())
      return splits.status();
    // Zero-mean, unit-variance channels, as CIFAR-10 models (airbench, torchvision's recipes)
    // are trained. Both splits use the full training set's published statistics, not those of
    // the files at hand, so a model sees the same values whatever subset it is given.
    for (data::Dataset *split : {&splits->train, &splits->test}) {
      if (absl::Status status = data::standardizeChannels(*split, data::kCifar10ChannelMean,
                                                          data::kCifar10ChannelStd);
          !status.ok())
        return status;
    }
    return splits;
  }
  std::string directory = data == "fashion-mnist" ? data::kFashionMnistDirectory : data;
  return data::loadMnistDirectory(directory);
}

std::pair<data::Dataset, data::Dataset> splitValidation(const data::Dataset &dataset,
                                                        double fraction, uint64_t seed) {
  std::vector<int64_t> order(dataset.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 random(seed ^ 0x76616c6964617465ULL);
  for (int64_t i = dataset.size() - 1; i > 0; --i)
    std::swap(order[i], order[random() % static_cast<uint64_t>(i + 1)]);
  auto held = static_cast<int64_t>(std::floor(fraction * dataset.size()));
  std::vector<int64_t> train(order.begin(), order.end() - held);
  std::vector<int64_t> validation(order.end() - held, order.end());
  std::sort(train.begin(), train.end());
  std::sort(validation.begin(), validation.end());
  return {data::selectExamples(dataset, train, dataset.name + " (training part)"),
          data::selectExamples(dataset, validation, dataset.name + " (validation part)")};
}

} // namespace kiln::tool
