//===- Dataset.h - A labelled classification dataset in memory --*- C++ -*-===//
//
// What every reader in runtime/data produces and what the Batcher consumes:
// N examples of F float features each (row-major) with one int32 class label
// per example. Images keep their shape (rows x cols for MNIST, CHW for
// CIFAR-10) in `exampleShape` so a convolutional model can ask for it; the
// features themselves are always stored flat.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_DATASET_H
#define KILN_RUNTIME_DATA_DATASET_H

#include "absl/status/status.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kiln::data {

/// A labelled classification dataset held in host memory.
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

  /// Number of examples.
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  /// Number of features per example: the product of exampleShape.
  int64_t numFeatures() const;
  /// The features of example `index` (0 <= index < size()), a view into `features`.
  std::span<const float> example(int64_t index) const;
};

/// The two splits a directory loader returns.
struct DatasetSplits {
  Dataset train;
  Dataset test;
};

/// Checks that `dataset` is internally consistent: a non-empty example shape with positive
/// dimensions, numClasses >= 1, features.size() == size() * numFeatures(), and every label in
/// [0, numClasses). Fails with InvalidArgument naming the dataset and the first problem.
absl::Status validateDataset(const Dataset &dataset);

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_DATASET_H
