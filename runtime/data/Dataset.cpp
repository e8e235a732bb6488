//===- Dataset.cpp - A labelled classification dataset in memory ----------===//

#include "kiln/runtime/data/Dataset.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kiln::data {

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

absl::Status validateDataset(const Dataset &dataset) {
  auto invalid = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("dataset '", dataset.name, "': ", problem));
  };
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
  return absl::OkStatus();
}

} // namespace kiln::data
