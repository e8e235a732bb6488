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
#include "kiln/runtime/data/Text.h"

#include "absl/status/statusor.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::tool {

/// Loads the splits `data` (a --data value) names. Synthetic clusters take the example shape of
/// the plan's "images" input (16 features when it has none) and are drawn from `seed`.
absl::StatusOr<data::DatasetSplits> loadData(const std::string &data, const plan::Plan &plan,
                                             uint64_t seed);

/// The prefix of a --data value naming a text file.
inline constexpr std::string_view kTextDataPrefix = "text:";

/// true when `data` is text:FILE.
bool isTextData(const std::string &data);

/// --data text:FILE, shaped to the plan: training windows come from `train`, the validation
/// split is measured on the fixed windows of `validation`.
struct TextData {
  std::shared_ptr<const data::TextSplit> train;
  /// The fixed validation windows (fields "tokens" and "targets"), batchSize * k of them.
  std::shared_ptr<const data::Dataset> validation;
  /// From the plan's "tokens" input, i32 [batchSize, contextLength].
  int64_t batchSize = 0;
  int64_t contextLength = 0;

  /// The fields a batch holds: "tokens" and "targets", i32 [contextLength] per window.
  std::vector<data::FieldSpec> fields() const;
};

/// Loads text:FILE (`data`) for `plan`, whose inputs "tokens" and "targets" must both be i32
/// [B, T]; at most `maxValidationBatches` batches of validation windows. Fails naming the file
/// (missing, empty, or a split shorter than T + 1 bytes) or the plan's inputs (missing, another
/// dtype or rank, "targets" shaped unlike "tokens").
absl::StatusOr<TextData> loadTextData(const std::string &data, const plan::Plan &plan,
                                      int64_t maxValidationBatches);

/// Splits `dataset` into (training, validation): validation is the last `fraction` of a
/// permutation drawn from `seed` (a Fisher-Yates shuffle driven by mt19937_64, the same on
/// every platform); both keep the dataset's order and every field.
std::pair<data::Dataset, data::Dataset> splitValidation(const data::Dataset &dataset,
                                                        double fraction, uint64_t seed);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_TRAINDATA_H
