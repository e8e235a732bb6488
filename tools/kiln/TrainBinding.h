//===- TrainBinding.h - Which tensor feeds each plan input ------*- C++ -*-===//
//
// kiln train binds the plan's named inputs by name and role: an input named
// like a field of the dataset is fed that field's examples, batched to the
// input's [batch, ...] shape; "learning_rate" is fed by the trainer from the
// schedule; any other input keeps its default value. The binding is made, and
// every mismatch reported, before a device is created.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_TRAINBINDING_H
#define KILN_TOOLS_KILN_TRAINBINDING_H

#include "Runners.h"

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/data/Batcher.h"
#include "kiln/runtime/data/Dataset.h"

#include "absl/status/statusor.h"

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::tool {

/// The plan input the trainer feeds from the learning-rate schedule.
inline constexpr std::string_view kLearningRateInput = "learning_rate";

/// Where the value of a plan input comes from at each step.
enum class InputSource {
  kData,     ///< the dataset field of the same name, one batch per step
  kSchedule, ///< the trainer: the learning rate of the step
  kDefault,  ///< the plan's default value (the trainer sends nothing)
};

struct InputBinding {
  std::string name;
  InputSource source = InputSource::kDefault;
  /// kData: the field's examples are flattened to the input's [batch, elements].
  bool flatten = false;
};

/// How every input of a plan is fed.
struct InputBindings {
  /// One per plan input, in the plan's order.
  std::vector<InputBinding> inputs;
  /// The leading extent shared by every input fed from the data.
  int64_t batchSize = 0;

  /// The batcher's fields: the inputs fed from the data.
  std::vector<data::BatchField> batchFields() const;
  /// true when `name` is fed from the data.
  bool fromData(std::string_view name) const;
};

/// Binds every input of `plan` that its training step or eval program reads (the inputs of
/// other programs are left to their defaults, unfed) to the dataset fields `fields` (of the dataset
/// named `dataName`, for messages), with "learning_rate" fed from the schedule when
/// `feedLearningRate`. Fails with InvalidArgument naming the input, the field and both shapes
/// when a field's dtype or shape per example differs from the input's [batch, ...], when the
/// inputs fed from the data disagree on the batch size, when none is fed from the data, and
/// when an input has neither a field, a role nor a default (listing the fields the data
/// provides).
absl::StatusOr<InputBindings> bindInputs(const plan::Plan &plan,
                                         const std::vector<data::FieldSpec> &fields,
                                         const std::string &dataName, bool feedLearningRate);

/// The names of the plan inputs `program` reads (every input when its list is empty).
std::set<std::string, std::less<>> programInputs(const plan::Plan &plan, const plan::Step &program);

/// `batch` without the tensors `names` does not list: what one program takes of a batch.
TensorMap selectInputs(TensorMap batch, const std::set<std::string, std::less<>> &names);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_TRAINBINDING_H
