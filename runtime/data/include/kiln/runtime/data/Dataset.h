//===- Dataset.h - Named per-example fields in memory -----------*- C++ -*-===//
//
// What every reader in runtime/data produces and what the Batcher consumes:
// N examples, each with the same named fields. The readers make classification
// data, fields "images" (F float features, row-major) and "labels" (one int32
// class label). Images keep their shape (rows x cols for MNIST, CHW for
// CIFAR-10) in `exampleShape` so a convolutional model can ask for it; the
// features themselves are always stored flat. Any other field (token ids and
// their targets, regression targets, sample weights) is a tensor in
// `extraFields` whose first dimension counts the examples; a dataset may have
// extra fields only. kiln train feeds each plan input the field of its name.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_DATASET_H
#define KILN_RUNTIME_DATA_DATASET_H

#include "kiln/runtime/HostTensor.h"

#include "absl/status/status.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::data {

/// The names of the classification fields.
inline constexpr std::string_view kImagesField = "images";
inline constexpr std::string_view kLabelsField = "labels";

/// What one field of a dataset holds per example.
struct FieldSpec {
  std::string name;
  DType dtype = DType::kF32;
  /// The shape of one example's value: {} for a single value (a label), {28, 28} for an image.
  std::vector<int64_t> exampleShape;

  /// "i32 [16]": the dtype and the shape of one example.
  std::string describe() const;
};

/// Examples with named fields, held in host memory.
struct Dataset {
  /// For messages and reports, e.g. "fashion-mnist/train".
  std::string name;
  /// The shape of one example: {rows, cols} for MNIST, {3, 32, 32} for CIFAR-10, {F} for
  /// synthetic data. Its product is numFeatures().
  std::vector<int64_t> exampleShape;
  /// Labels lie in [0, numClasses).
  int32_t numClasses = 0;
  /// size() x numFeatures() values, row-major. Image readers scale pixels to [0, 1].
  std::vector<float> features;
  /// size() labels.
  std::vector<int32_t> labels;
  /// Fields besides "images" and "labels", by name: each a tensor [size(), example dims...]
  /// of any dtype, example i at row i. A dataset with an empty exampleShape (and no features,
  /// labels or classes) consists of these fields alone.
  std::map<std::string, HostTensor, std::less<>> extraFields;

  /// true when the dataset has the classification fields "images" and "labels".
  bool hasImages() const {
    return !exampleShape.empty() || !features.empty() || !labels.empty() || numClasses != 0;
  }
  /// Number of examples: of the labels, or of the extra fields in a dataset without images.
  int64_t size() const;
  /// Number of features per example: the product of exampleShape.
  int64_t numFeatures() const;
  /// The features of example `index` (0 <= index < size()), a view into `features`.
  std::span<const float> example(int64_t index) const;

  /// Every field: "images" (f32, exampleShape) and "labels" (i32, {}) when hasImages(), then
  /// the extra fields in name order.
  std::vector<FieldSpec> fields() const;
  /// The bytes of field `name`, size() rows of equal length (row-major); empty for a field the
  /// dataset does not have.
  std::span<const uint8_t> fieldBytes(std::string_view name) const;
};

/// The two splits a directory loader returns.
struct DatasetSplits {
  Dataset train;
  Dataset test;
};

/// Checks that `dataset` is internally consistent. With images: a non-empty example shape with
/// positive dimensions, numClasses >= 1, features.size() == size() * numFeatures(), and every
/// label in [0, numClasses). Every extra field: a name that is neither "images" nor "labels",
/// at least one dimension, and size() rows. A dataset needs images or an extra field. Fails
/// with InvalidArgument naming the dataset, the field and the first problem.
absl::Status validateDataset(const Dataset &dataset);

/// Standardizes the images of `dataset` per channel, in place: each feature of channel c (the
/// first dimension of exampleShape, e.g. CIFAR-10's {3, 32, 32}) becomes
/// (value - mean[c]) / stddev[c]. Fails with InvalidArgument naming the dataset when it has no
/// images, when mean or stddev do not have one value per channel, or when a stddev is not
/// positive; the features are unchanged then.
absl::Status standardizeChannels(Dataset &dataset, std::span<const float> mean,
                                 std::span<const float> stddev);

/// The examples of `dataset` at `indices` (each in [0, size())), in that order, with every
/// field, as a dataset named `name`.
Dataset selectExamples(const Dataset &dataset, std::span<const int64_t> indices, std::string name);

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_DATASET_H
