//===- TrainBinding.cpp - Which tensor feeds each plan input --------------===//

#include "TrainBinding.h"

#include "kiln/runtime/PlanValidation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>

namespace kiln::tool {
namespace {

/// "f32 [8, 16]".
std::string describeInput(const plan::TensorSpec &tensor) {
  auto dtype = plan::hostDType(tensor.dtype());
  return absl::StrCat(dtype.ok() ? dtypeName(*dtype) : "?", " [",
                      absl::StrJoin(tensor.shape(), ", "), "]");
}

/// "images f32 [28, 28], labels i32 []".
std::string describeFields(const std::vector<data::FieldSpec> &fields) {
  return absl::StrJoin(fields, ", ", [](std::string *out, const data::FieldSpec &field) {
    absl::StrAppend(out, field.name, " ", field.describe());
  });
}

/// "\"images\" and \"labels\"", "\"a\", \"b\" and \"c\"".
std::string quotedNames(const std::vector<data::FieldSpec> &fields) {
  std::string result;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0)
      result += i + 1 == fields.size() ? " and " : ", ";
    absl::StrAppend(&result, "\"", fields[i].name, "\"");
  }
  return result.empty() ? "nothing" : result;
}

int64_t elementsOf(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dimension : shape)
    count *= dimension;
  return count;
}

/// Checks that `field` can feed `input`, [batch, example shape...]; says whether its examples
/// are flattened (a field of [28, 28] examples feeds an input of [batch, 784]).
absl::StatusOr<bool> matchField(const plan::TensorSpec &input, const data::FieldSpec &field,
                                const std::string &dataName) {
  std::string where = absl::StrCat("field \"", field.name, "\" of '", dataName, "' holds ",
                                   field.describe(), " per example");
  if (input.shape_size() == 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "the plan's input \"", input.name(), "\" is ", describeInput(input), ", a scalar, but ",
        where, "; an input fed from --data is [batch, ...], one row per example"));
  std::vector<int64_t> perExample(input.shape().begin() + 1, input.shape().end());
  auto dtype = plan::hostDType(input.dtype());
  bool sameDType = dtype.ok() && *dtype == field.dtype;
  bool sameShape = perExample == field.exampleShape;
  bool flattened = perExample.size() == 1 && perExample[0] == elementsOf(field.exampleShape);
  if (sameDType && (sameShape || flattened))
    return !sameShape;
  data::FieldSpec wanted{field.name, dtype.ok() ? *dtype : field.dtype, perExample};
  return absl::InvalidArgumentError(
      absl::StrCat("the plan's input \"", input.name(), "\" is ", describeInput(input),
                   ", batches of ", input.shape(0), " examples of ", wanted.describe(), ", but ",
                   where, "; build the model for the data's examples, or give --data whose \"",
                   field.name, "\" examples are ", wanted.describe()));
}

} // namespace

std::vector<data::BatchField> InputBindings::batchFields() const {
  std::vector<data::BatchField> result;
  for (const InputBinding &input : inputs)
    if (input.source == InputSource::kData)
      result.push_back({input.name, input.name, input.flatten});
  return result;
}

bool InputBindings::fromData(std::string_view name) const {
  return std::any_of(inputs.begin(), inputs.end(), [&](const InputBinding &input) {
    return input.name == name && input.source == InputSource::kData;
  });
}

absl::StatusOr<InputBindings> bindInputs(const plan::Plan &plan,
                                         const std::vector<data::FieldSpec> &fields,
                                         const std::string &dataName, bool feedLearningRate) {
  InputBindings bindings;
  const plan::TensorSpec *batchInput = nullptr;
  // The inputs of other programs (such as "generate.tokens" of a "generate" program) are not
  // kiln train's to feed.
  std::set<std::string, std::less<>> trained = programInputs(plan, plan.step());
  for (const plan::Step &program : plan.programs())
    if (program.name() == "eval")
      trained.merge(programInputs(plan, program));
  for (const plan::Input &input : plan.inputs()) {
    const plan::TensorSpec &tensor = input.tensor();
    InputBinding binding{tensor.name()};
    if (!trained.contains(tensor.name())) {
      bindings.inputs.push_back(std::move(binding));
      continue;
    }
    auto field = std::find_if(fields.begin(), fields.end(),
                              [&](const data::FieldSpec &f) { return f.name == tensor.name(); });
    if (tensor.name() == kLearningRateInput && (feedLearningRate || field == fields.end())) {
      if (!feedLearningRate && input.default_value().empty())
        return absl::InvalidArgumentError(
            "the plan's \"learning_rate\" input has no default value; give --lr X");
      binding.source = feedLearningRate ? InputSource::kSchedule : InputSource::kDefault;
    } else if (field != fields.end()) {
      auto flatten = matchField(tensor, *field, dataName);
      if (!flatten.ok())
        return flatten.status();
      binding.source = InputSource::kData;
      binding.flatten = *flatten;
      if (!batchInput) {
        batchInput = &tensor;
        bindings.batchSize = tensor.shape(0);
      } else if (tensor.shape(0) != bindings.batchSize) {
        return absl::InvalidArgumentError(
            absl::StrCat("the plan's inputs fed from --data disagree on the batch size: \"",
                         batchInput->name(), "\" is ", describeInput(*batchInput), " but \"",
                         tensor.name(), "\" is ", describeInput(tensor),
                         "; every input fed from --data is [batch, ...] with one batch size"));
      }
    } else if (input.default_value().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the plan takes an input \"", tensor.name(),
          "\" with no default value, which kiln train cannot feed: it feeds ", quotedNames(fields),
          " from --data and \"learning_rate\" from the schedule; give the input a default when "
          "building the model, or train it through the C++ API\n--data '",
          dataName, "' provides: ", describeFields(fields), "; the plan's input \"", tensor.name(),
          "\" is ", describeInput(tensor)));
    }
    bindings.inputs.push_back(std::move(binding));
  }
  if (!batchInput)
    return absl::InvalidArgumentError(absl::StrCat(
        "the plan takes none of the fields --data '", dataName, "' provides (",
        describeFields(fields),
        "), so there is nothing to train on; name the model's inputs like the data's fields"));
  return bindings;
}

std::set<std::string, std::less<>> programInputs(const plan::Plan &plan,
                                                 const plan::Step &program) {
  std::set<std::string, std::less<>> names;
  if (program.inputs().empty()) {
    for (const plan::Input &input : plan.inputs())
      names.insert(input.tensor().name());
    return names;
  }
  for (uint32_t index : program.inputs())
    if (index < static_cast<uint32_t>(plan.inputs_size()))
      names.insert(plan.inputs(static_cast<int>(index)).tensor().name());
  return names;
}

TensorMap selectInputs(TensorMap batch, const std::set<std::string, std::less<>> &names) {
  std::erase_if(batch, [&](const auto &entry) { return !names.contains(entry.first); });
  return batch;
}

} // namespace kiln::tool
