//===- TrainData.h - The datasets kiln train reads --------------*- C++ -*-===//
//
// --data names a dataset: Fashion-MNIST, a folder of MNIST IDX files, the
// CIFAR-10 binary files, or synthetic Gaussian clusters shaped to the plan.
// A validation split for early stopping is carved from the training split.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_TRAINDATA_H
#define KILN_TOOLS_KILN_TRAINDATA_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/data/Dataset.h"

#include "absl/status/statusor.h"

#include <string>
#include <utility>

namespace kiln::tool {

/// Loads the splits `data` (a --data value) names. Synthetic clusters take the example shape of
/// the plan's "images" input (16 features when it has none) and are drawn from `seed`.
absl::StatusOr<data::DatasetSplits> loadData(const std::string &data, const plan::Plan &plan,
                                             uint64_t seed);

/// Splits `dataset` into (training, validation): validation is the last `fraction` of a
/// permutation drawn from `seed` (a Fisher-Yates shuffle driven by mt19937_64, the same on
/// every platform); both keep the dataset's order and every field.
std::pair<data::Dataset, data::Dataset> splitValidation(const data::Dataset &dataset,
                                                        double fraction, uint64_t seed);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_TRAINDATA_H
