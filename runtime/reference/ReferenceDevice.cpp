//===- ReferenceDevice.cpp - The oracle: graph dialect in plain C++ -------===//
//
// The public face of the reference device: feeds inputs into the plan's
// slots, runs its instructions, applies assigns at the end of the step and
// answers questions about outputs, gradients and variables.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/ReferenceDevice.h"

#include "Plan.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>

namespace kiln::reference {
namespace {

bool isFloat(DType dtype) { return dtype == DType::kF32 || dtype == DType::kF64; }

/// Whether a host tensor of `given` dtype may fill a slot of `expected` dtype.
bool compatible(DType given, DType expected) {
  return given == expected || (isFloat(given) && isFloat(expected));
}

std::string shapeString(const std::vector<int64_t> &shape) {
  return absl::StrCat("[", absl::StrJoin(shape, "x"), "]");
}

/// Checks that `value` can become a tensor of `dtype` and `shape` (float tensors may be
/// given as f32 or f64); `what` names it in the message.
absl::Status checkTensor(const HostTensor &value, DType dtype, const std::vector<int64_t> &shape,
                         const std::string &typeName, const std::string &what) {
  if (compatible(value.dtype(), dtype) && value.shape() == shape)
    return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("reference device: ", what, " is ", value.describe(), " but the step needs ",
                   typeName, "; pass a tensor of shape ", shapeString(shape), " with ",
                   isFloat(dtype) ? "f32 or f64" : dtypeName(dtype), " elements"));
}

/// Copies `value` into the preallocated `slot` of the same shape, converting f32 <-> f64.
void copyInto(const HostTensor &value, HostTensor &slot) {
  if (value.dtype() == slot.dtype()) {
    std::memcpy(slot.bytes().data(), value.bytes().data(), slot.sizeInBytes());
    return;
  }
  HostTensor converted = value.convertTo(slot.dtype());
  std::memcpy(slot.bytes().data(), converted.bytes().data(), slot.sizeInBytes());
}

template <typename Entry> std::string namesOf(const std::vector<Entry> &entries) {
  if (entries.empty())
    return "none";
  return absl::StrJoin(entries, ", ",
                       [](std::string *out, const Entry &e) { out->append(e.name); });
}

} // namespace

ReferenceDevice::ReferenceDevice(std::unique_ptr<Plan> plan, Precision precision)
    : plan_(std::move(plan)), precision_(precision) {}

ReferenceDevice::~ReferenceDevice() = default;

absl::StatusOr<std::unique_ptr<ReferenceDevice>> ReferenceDevice::create(mlir::ModuleOp module,
                                                                         Precision precision) {
  absl::StatusOr<std::unique_ptr<Plan>> plan = buildPlan(module, precision);
  if (!plan.ok())
    return plan.status();
  return std::unique_ptr<ReferenceDevice>(new ReferenceDevice(*std::move(plan), precision));
}

absl::Status ReferenceDevice::step(const std::map<std::string, HostTensor, std::less<>> &inputs) {
  haveResults_ = false;
  for (const auto &[name, value] : inputs) {
    bool known = std::any_of(plan_->inputs.begin(), plan_->inputs.end(),
                             [&](const InputSlots &in) { return in.name == name; });
    if (!known)
      return absl::InvalidArgumentError(
          absl::StrCat("reference device: the step has no input named \"", name,
                       "\"; its inputs are: ", namesOf(plan_->inputs)));
  }
  std::vector<std::string> missing;
  for (InputSlots &input : plan_->inputs) {
    auto given = inputs.find(input.name);
    const HostTensor *value = nullptr;
    if (given != inputs.end()) {
      if (absl::Status status = checkTensor(given->second, input.dtype, input.shape, input.typeName,
                                            absl::StrCat("input \"", input.name, "\""));
          !status.ok())
        return status;
      value = &given->second;
    } else if (input.defaultValue) {
      value = &*input.defaultValue;
    } else {
      missing.push_back(input.name);
      continue;
    }
    for (int slot : input.slots)
      copyInto(*value, plan_->slots[slot]);
  }
  if (!missing.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("reference device: no value for input", missing.size() > 1 ? "s " : " ",
                     absl::StrJoin(missing, ", "),
                     "; pass them to step() (only inputs with a default_value may be left out)"));

  for (const Instruction &instruction : plan_->instructions) {
    absl::Status status = precision_ == Precision::kFloat64 ? execute<double>(instruction, *plan_)
                                                            : execute<float>(instruction, *plan_);
    if (!status.ok())
      return status;
  }
  for (auto [variable, slot] : plan_->assigns)
    copyInto(plan_->slots[slot], plan_->variables[variable].value);
  ++stepsRun_;
  haveResults_ = true;
  return absl::OkStatus();
}

absl::StatusOr<HostTensor> ReferenceDevice::output(std::string_view name) const {
  if (!haveResults_)
    return absl::FailedPreconditionError(
        absl::StrCat("reference device: output \"", std::string(name),
                     "\" is not available: no step has succeeded since ",
                     stepsRun_ == 0 ? "create()" : "the last failed step"));
  for (const NamedSlot &output : plan_->outputs)
    if (output.name == name)
      return plan_->slots[output.slot];
  return absl::NotFoundError(absl::StrCat("reference device: the step has no output named \"",
                                          std::string(name),
                                          "\"; its outputs are: ", namesOf(plan_->outputs)));
}

absl::StatusOr<HostTensor> ReferenceDevice::gradient(std::string_view variable) const {
  if (!haveResults_)
    return absl::FailedPreconditionError(
        absl::StrCat("reference device: the gradient of @", std::string(variable),
                     " is not available: no step has succeeded since ",
                     stepsRun_ == 0 ? "create()" : "the last failed step"));
  for (const NamedSlot &gradient : plan_->gradients)
    if (gradient.name == variable)
      return plan_->slots[gradient.slot];
  return absl::NotFoundError(
      absl::StrCat("reference device: the step has no graph.gradient for @", std::string(variable),
                   " (gradients exist for: ", namesOf(plan_->gradients),
                   "); run kiln-autodiff, and mark the variable trainable, to get one"));
}

absl::StatusOr<HostTensor> ReferenceDevice::variable(std::string_view name) const {
  for (const VariableState &variable : plan_->variables)
    if (variable.name == name)
      return variable.value;
  return absl::NotFoundError(absl::StrCat("reference device: no variable named @",
                                          std::string(name),
                                          "; the variables are: ", namesOf(plan_->variables)));
}

absl::Status ReferenceDevice::setVariable(std::string_view name, const HostTensor &value) {
  for (VariableState &variable : plan_->variables) {
    if (variable.name != name)
      continue;
    if (absl::Status status =
            checkTensor(value, variable.value.dtype(), variable.value.shape(), variable.typeName,
                        absl::StrCat("the new value of @", std::string(name)));
        !status.ok())
      return status;
    copyInto(value, variable.value);
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("reference device: no variable named @",
                                          std::string(name),
                                          "; the variables are: ", namesOf(plan_->variables)));
}

std::vector<std::string> ReferenceDevice::variableNames() const {
  std::vector<std::string> names;
  for (const VariableState &variable : plan_->variables)
    names.push_back(variable.name);
  return names;
}

int64_t ReferenceDevice::stepsRun() const { return stepsRun_; }

Precision ReferenceDevice::precision() const { return precision_; }

} // namespace kiln::reference
