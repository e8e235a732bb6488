//===- ProgramIO.cpp - Host tensors in and out of a plan's programs -------===//

#include "kiln/runtime/ProgramIO.h"

#include "kiln/runtime/Initializer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace kiln::plan {
namespace {

bool isFloat(kiln::DType dtype) { return dtype == kiln::DType::kF32 || dtype == kiln::DType::kF64; }

} // namespace

ProgramIO indexProgram(const Plan &plan, ProgramView view) {
  ProgramIO program;
  program.view = std::move(view);
  for (size_t i = 0; i < program.view.inputs.size(); ++i)
    program.inputIndex[plan.inputs(program.view.inputs[i]).tensor().name()] = i;
  for (size_t i = 0; i < program.view.outputs.size(); ++i)
    program.outputIndex[plan.outputs(program.view.outputs[i]).tensor().name()] = i;
  return program;
}

std::vector<int64_t> tensorShape(const TensorSpec &tensor) {
  return std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end());
}

absl::StatusOr<HostTensor> matchTensor(const HostTensor &value, const TensorSpec &tensor,
                                       const std::string &what) {
  kiln::DType expected = *hostDType(tensor.dtype());
  bool dtypeFits = value.dtype() == expected || (isFloat(value.dtype()) && isFloat(expected));
  if (!dtypeFits || value.shape() != tensorShape(tensor))
    return absl::InvalidArgumentError(
        absl::StrCat(what, " expects ", describeTensor(tensor), " but got ", value.describe()));
  return value.convertTo(expected);
}

std::string listNames(const absl::flat_hash_map<std::string, int> &index) {
  std::vector<std::string> names;
  for (const auto &[name, position] : index)
    names.push_back(name);
  std::sort(names.begin(), names.end());
  return names.empty() ? "(none)" : absl::StrJoin(names, ", ");
}

absl::StatusOr<std::vector<HostTensor>>
resolveInputs(const Plan &plan, const ProgramIO &program,
              const std::map<std::string, HostTensor, std::less<>> &inputs,
              std::string_view caller) {
  std::vector<std::optional<HostTensor>> given(program.view.inputs.size());
  for (const auto &[name, value] : inputs) {
    auto found = program.inputIndex.find(name);
    if (found == program.inputIndex.end())
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(caller), " was given unknown input '", name, "'; the inputs of program '",
          program.view.name, "' are: ", listNames(program.inputIndex)));
    const Input &input = plan.inputs(program.view.inputs[found->second]);
    absl::StatusOr<HostTensor> matched =
        matchTensor(value, input.tensor(), absl::StrCat("input '", name, "'"));
    if (!matched.ok())
      return matched.status();
    given[found->second] = *std::move(matched);
  }
  std::vector<HostTensor> values;
  values.reserve(given.size());
  for (size_t position = 0; position < given.size(); ++position) {
    if (given[position]) {
      values.push_back(*std::move(given[position]));
      continue;
    }
    const Input &input = plan.inputs(program.view.inputs[position]);
    if (input.default_value().empty())
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", input.tensor().name(), "' was not given and has no default value; program '",
          program.view.name, "' reads it"));
    HostTensor value(*hostDType(input.tensor().dtype()), tensorShape(input.tensor()));
    std::memcpy(value.bytes().data(), input.default_value().data(), value.sizeInBytes());
    values.push_back(std::move(value));
  }
  return values;
}

HostTensor initialValue(const Variable &variable) {
  const TensorSpec &spec = variable.tensor();
  kiln::DType dtype = *hostDType(spec.dtype());
  HostTensor value(dtype, std::vector<int64_t>(spec.shape().begin(), spec.shape().end()));
  const Initializer &init = variable.initializer();
  InitKind kind = init.distribution() == Initializer::DISTRIBUTION_UNIFORM  ? InitKind::kUniform
                  : init.distribution() == Initializer::DISTRIBUTION_NORMAL ? InitKind::kNormal
                                                                            : InitKind::kConstant;
  switch (dtype) {
  case kiln::DType::kF32:
    fillInitializer(kind, init.a(), init.b(), init.seed(), init.stream(), value.f32());
    break;
  case kiln::DType::kF64:
    fillInitializer(kind, init.a(), init.b(), init.seed(), init.stream(), value.f64());
    break;
  case kiln::DType::kI32:
    std::fill(value.i32().begin(), value.i32().end(), static_cast<int32_t>(init.a()));
    break;
  case kiln::DType::kI1:
    std::fill(value.bytes().begin(), value.bytes().end(), init.a() != 0 ? 1 : 0);
    break;
  }
  return value;
}

} // namespace kiln::plan
