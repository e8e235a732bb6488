//===- Dataset.cpp - Named per-example fields in memory -------------------===//

#include "kiln/runtime/data/Dataset.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>

namespace kiln::data {

std::string FieldSpec::describe() const {
  return absl::StrCat(dtypeName(dtype), " [", absl::StrJoin(exampleShape, ", "), "]");
}

int64_t Dataset::size() const {
  if (hasImages() || extraFields.empty())
    return static_cast<int64_t>(labels.size());
  const std::vector<int64_t> &shape = extraFields.begin()->second.shape();
  return shape.empty() ? 0 : shape[0];
}

int64_t Dataset::numFeatures() const {
  int64_t count = 1;
  for (int64_t dimension : exampleShape)
    count *= dimension;
  return count;
}

std::span<const float> Dataset::example(int64_t index) const {
  int64_t width = numFeatures();
  return std::span<const float>(features).subspan(index * width, width);
}

std::vector<FieldSpec> Dataset::fields() const {
  std::vector<FieldSpec> result;
  if (hasImages()) {
    result.push_back({std::string(kImagesField), DType::kF32, exampleShape});
    result.push_back({std::string(kLabelsField), DType::kI32, {}});
  }
  for (const auto &[name, values] : extraFields) {
    std::vector<int64_t> exampleShape(
        values.shape().begin() + std::min<size_t>(1, values.shape().size()), values.shape().end());
    result.push_back({name, values.dtype(), std::move(exampleShape)});
  }
  return result;
}

std::span<const uint8_t> Dataset::fieldBytes(std::string_view name) const {
  if (hasImages() && name == kImagesField)
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(features.data()),
                                    features.size() * sizeof(float));
  if (hasImages() && name == kLabelsField)
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(labels.data()),
                                    labels.size() * sizeof(int32_t));
  if (auto field = extraFields.find(name); field != extraFields.end())
    return field->second.bytes();
  return {};
}

absl::Status validateDataset(const Dataset &dataset) {
  auto invalid = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("dataset '", dataset.name, "': ", problem));
  };
  if (dataset.hasImages() || dataset.extraFields.empty()) {
    if (dataset.exampleShape.empty())
      return invalid("exampleShape is empty; give each example a shape such as {784}");
    for (int64_t dimension : dataset.exampleShape) {
      if (dimension <= 0)
        return invalid(absl::StrCat("exampleShape [", absl::StrJoin(dataset.exampleShape, "x"),
                                    "] has a dimension <= 0"));
    }
    if (dataset.numClasses < 1)
      return invalid(absl::StrCat("numClasses must be >= 1, got ", dataset.numClasses));
    uint64_t expectedFeatures =
        static_cast<uint64_t>(dataset.size()) * static_cast<uint64_t>(dataset.numFeatures());
    if (dataset.features.size() != expectedFeatures)
      return invalid(absl::StrCat("holds ", dataset.features.size(), " feature values but ",
                                  dataset.size(), " examples of ", dataset.numFeatures(),
                                  " features need ", expectedFeatures));
    for (int64_t i = 0; i < dataset.size(); ++i) {
      int32_t label = dataset.labels[i];
      if (label < 0 || label >= dataset.numClasses)
        return invalid(absl::StrCat("label ", label, " of example ", i, " is outside 0..",
                                    dataset.numClasses - 1));
    }
  }
  for (const auto &[name, values] : dataset.extraFields) {
    if (name.empty() || name == kImagesField || name == kLabelsField)
      return invalid(absl::StrCat("an extra field is named '", name,
                                  "'; give it a non-empty name other than images and labels "
                                  "(those are the classification fields)"));
    if (values.shape().empty())
      return invalid(absl::StrCat("field '", name, "' is ", values.describe(),
                                  ", a scalar; a field is [examples, ...]"));
    if (values.shape()[0] != dataset.size())
      return invalid(absl::StrCat("field '", name, "' is ", values.describe(), ", ",
                                  values.shape()[0], " examples, but the dataset has ",
                                  dataset.size()));
  }
  return absl::OkStatus();
}

absl::Status standardizeChannels(Dataset &dataset, std::span<const float> mean,
                                 std::span<const float> stddev) {
  auto invalid = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot standardize the channels of dataset '", dataset.name, "': ", problem));
  };
  if (!dataset.hasImages() || dataset.exampleShape.empty())
    return invalid("it has no images");
  int64_t channels = dataset.exampleShape[0];
  if (static_cast<int64_t>(mean.size()) != channels ||
      static_cast<int64_t>(stddev.size()) != channels)
    return invalid(absl::StrCat("its images [", absl::StrJoin(dataset.exampleShape, ", "),
                                "] have ", channels, " channels (the first dimension), but ",
                                mean.size(), " means and ", stddev.size(),
                                " standard deviations were given"));
  for (int64_t c = 0; c < channels; ++c) {
    // !(x > 0) also rejects NaN.
    if (!(stddev[c] > 0.0f))
      return invalid(absl::StrCat("the standard deviation of channel ", c, " is ", stddev[c],
                                  "; it must be positive"));
  }
  int64_t features = dataset.numFeatures();
  int64_t plane = features / channels;
  for (size_t start = 0; start + features <= dataset.features.size(); start += features) {
    for (int64_t c = 0; c < channels; ++c) {
      float *values = dataset.features.data() + start + c * plane;
      // Subtract, then divide (not multiply by 1 / stddev): the same f32 operations as
      // torchvision's Normalize, so a PyTorch pipeline sees the same values.
      for (int64_t i = 0; i < plane; ++i)
        values[i] = (values[i] - mean[c]) / stddev[c];
    }
  }
  return absl::OkStatus();
}

Dataset selectExamples(const Dataset &dataset, std::span<const int64_t> indices, std::string name) {
  Dataset result;
  result.name = std::move(name);
  result.exampleShape = dataset.exampleShape;
  result.numClasses = dataset.numClasses;
  if (dataset.hasImages()) {
    int64_t features = dataset.numFeatures();
    result.features.reserve(indices.size() * features);
    result.labels.reserve(indices.size());
    for (int64_t index : indices) {
      std::span<const float> example = dataset.example(index);
      result.features.insert(result.features.end(), example.begin(), example.end());
      result.labels.push_back(dataset.labels[index]);
    }
  }
  for (const auto &[field, values] : dataset.extraFields) {
    std::vector<int64_t> shape = values.shape();
    shape[0] = static_cast<int64_t>(indices.size());
    HostTensor selected(values.dtype(), std::move(shape));
    size_t rowBytes = values.shape()[0] == 0 ? 0 : values.sizeInBytes() / values.shape()[0];
    for (size_t row = 0; row < indices.size(); ++row)
      std::memcpy(selected.bytes().data() + row * rowBytes,
                  values.bytes().data() + indices[row] * rowBytes, rowBytes);
    result.extraFields.emplace(field, std::move(selected));
  }
  return result;
}

} // namespace kiln::data
