//===- TrainData.cpp - The datasets kiln train reads ----------------------===//

#include "TrainData.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/data/Cifar10.h"
#include "kiln/runtime/data/Mnist.h"
#include "kiln/runtime/data/Synthetic.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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
  if (isTextData(data))
    return absl::InvalidArgumentError(
        "--data text:FILE is a token stream, not examples; load it with loadTextData");
  std::string directory = data == "fashion-mnist" ? data::kFashionMnistDirectory : data;
  return data::loadMnistDirectory(directory);
}

bool isTextData(const std::string &data) {
  return std::string_view(data).starts_with(kTextDataPrefix);
}

std::vector<data::FieldSpec> TextData::fields() const {
  return {{std::string(data::kTargetsField), DType::kI32, {contextLength}},
          {std::string(data::kTokensField), DType::kI32, {contextLength}}};
}

namespace {

/// The plan's input `name`, or null.
const plan::TensorSpec *findInput(const plan::Plan &plan, std::string_view name) {
  for (const plan::Input &input : plan.inputs())
    if (input.tensor().name() == name)
      return &input.tensor();
  return nullptr;
}

std::string describeSpec(const plan::TensorSpec &tensor) {
  auto dtype = plan::hostDType(tensor.dtype());
  return absl::StrCat(dtype.ok() ? dtypeName(*dtype) : "?", " [",
                      absl::StrJoin(tensor.shape(), ", "), "]");
}

} // namespace

absl::StatusOr<TextData> loadTextData(const std::string &data, const plan::Plan &plan,
                                      int64_t maxValidationBatches) {
  std::string path = data.substr(kTextDataPrefix.size());
  if (path.empty())
    return absl::InvalidArgumentError("--data text:FILE needs a file name after 'text:'");
  std::string wanted = "--data text:FILE feeds the plan's inputs \"tokens\" and \"targets\" "
                       "(the tokens shifted by one), both i32 [batch, context]";
  const plan::TensorSpec *tokens = findInput(plan, data::kTokensField);
  const plan::TensorSpec *targets = findInput(plan, data::kTargetsField);
  for (auto [spec, name] :
       {std::pair{tokens, data::kTokensField}, {targets, data::kTargetsField}}) {
    if (!spec) {
      std::vector<std::string> names;
      for (const plan::Input &input : plan.inputs())
        names.push_back(
            absl::StrCat("\"", input.tensor().name(), "\" ", describeSpec(input.tensor())));
      return absl::InvalidArgumentError(absl::StrCat(
          wanted, ", but the plan has no input \"", std::string(name), "\"; its inputs are ",
          names.empty() ? std::string("none") : absl::StrJoin(names, ", ")));
    }
    if (spec->dtype() != plan::DTYPE_I32 || spec->shape_size() != 2)
      return absl::InvalidArgumentError(
          absl::StrCat(wanted, ", but the plan's input \"", std::string(name), "\" is ",
                       describeSpec(*spec), "; build the model with ", std::string(name),
                       " = input(\"", std::string(name), "\", {B, T}, DType::kI32)"));
  }
  if (!std::equal(tokens->shape().begin(), tokens->shape().end(), targets->shape().begin(),
                  targets->shape().end()))
    return absl::InvalidArgumentError(
        absl::StrCat(wanted, ", but the plan's \"tokens\" is ", describeSpec(*tokens),
                     " and its \"targets\" ", describeSpec(*targets), "; give them one shape"));
  TextData text;
  text.batchSize = tokens->shape(0);
  text.contextLength = tokens->shape(1);
  auto splits = data::loadTextFile(path);
  if (!splits.ok())
    return splits.status();
  if (absl::Status status = data::checkWindowFits(splits->train, text.contextLength); !status.ok())
    return status;
  auto validation = data::validationWindows(splits->validation, text.batchSize, text.contextLength,
                                            maxValidationBatches);
  if (!validation.ok())
    return validation.status();
  text.train = std::make_shared<const data::TextSplit>(std::move(splits->train));
  text.validation = std::make_shared<const data::Dataset>(*std::move(validation));
  return text;
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
