//===- Checkpoint.cpp - Training checkpoints of a plan --------------------===//

#include "kiln/runtime/checkpoint/Checkpoint.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/Sha256.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <limits>

namespace kiln::checkpoint {
namespace {

bool dtypeOf(plan::DType planDType, DType &dtype) {
  switch (planDType) {
  case plan::DTYPE_F32:
    dtype = DType::kF32;
    return true;
  case plan::DTYPE_F64:
    dtype = DType::kF64;
    return true;
  case plan::DTYPE_I32:
    dtype = DType::kI32;
    return true;
  default:
    return false;
  }
}

std::string shapeString(const std::vector<int64_t> &shape) {
  return absl::StrCat("[", absl::StrJoin(shape, "x"), "]");
}

} // namespace

std::string planSha256(const plan::Plan &plan) { return toHex(sha256(plan::serializePlan(plan))); }

TensorFile makeCheckpoint(std::map<std::string, HostTensor, std::less<>> variables,
                          const TrainingState &state) {
  TensorFile file;
  file.tensors = std::move(variables);
  file.metadata["kiln.format"] = std::string(kCheckpointFormat);
  file.metadata["kiln.plan_sha256"] = state.planSha256;
  file.metadata["kiln.step"] = absl::StrCat(state.step);
  file.metadata["kiln.data_epoch"] = absl::StrCat(state.dataEpoch);
  file.metadata["kiln.data_batch"] = absl::StrCat(state.dataBatch);
  file.metadata["kiln.seed"] = absl::StrCat(state.seed);
  return file;
}

absl::StatusOr<TrainingState> validateCheckpoint(const TensorFile &file, const plan::Plan &plan,
                                                 std::string_view origin) {
  std::string name(origin);
  auto invalid = [&](const std::string &what) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint ", name, ": ", what));
  };
  auto metadata = [&](std::string_view key) -> const std::string * {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? nullptr : &it->second;
  };
  const std::string *format = metadata("kiln.format");
  if (!format)
    return invalid("no kiln.format metadata; this is not a kiln training checkpoint");
  if (*format != kCheckpointFormat)
    return invalid(absl::StrCat("format '", *format, "' is not the one this build reads ('",
                                std::string(kCheckpointFormat), "')"));
  TrainingState state;
  const std::string *hash = metadata("kiln.plan_sha256");
  if (!hash)
    return invalid("no kiln.plan_sha256 metadata");
  state.planSha256 = *hash;
  std::string expected = planSha256(plan);
  if (state.planSha256 != expected)
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint ", name, " was written for plan ", state.planSha256, ", but this plan is ",
        expected, "; resume with the plan it was trained with"));
  for (auto [key, target] : {std::pair<const char *, int64_t *>{"kiln.step", &state.step},
                             {"kiln.data_epoch", &state.dataEpoch},
                             {"kiln.data_batch", &state.dataBatch}}) {
    const std::string *text = metadata(key);
    if (!text || !absl::SimpleAtoi(*text, target) || *target < 0)
      return invalid(absl::StrCat(key, " metadata is ", text ? "'" + *text + "'" : "missing",
                                  "; expected a non-negative integer"));
  }
  // The seed is what `kiln train --seed` took, a non-negative 64-bit signed integer.
  const std::string *seed = metadata("kiln.seed");
  if (!seed || !absl::SimpleAtoi(*seed, &state.seed) ||
      state.seed > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return invalid(absl::StrCat("kiln.seed metadata is ", seed ? "'" + *seed + "'" : "missing",
                                "; expected an integer in [0, ",
                                std::numeric_limits<int64_t>::max(), "] (the range of --seed)"));
  // Every step consumes one batch, so the data position never runs ahead of the step.
  if (state.dataEpoch > state.step || state.dataBatch > state.step)
    return invalid(absl::StrCat("its data position (epoch ", state.dataEpoch, ", batch ",
                                state.dataBatch, ") lies beyond its step ", state.step,
                                "; every step reads one batch, so the metadata is damaged"));

  for (const plan::Variable &variable : plan.variables()) {
    const plan::TensorSpec &spec = variable.tensor();
    auto it = file.tensors.find(spec.name());
    if (it == file.tensors.end())
      return invalid(absl::StrCat("no tensor for the plan's variable '", spec.name(), "'"));
    DType dtype;
    if (!dtypeOf(spec.dtype(), dtype))
      return invalid(absl::StrCat("the plan's variable '", spec.name(),
                                  "' has a dtype checkpoints cannot hold"));
    std::vector<int64_t> shape(spec.shape().begin(), spec.shape().end());
    if (it->second.dtype() != dtype || it->second.shape() != shape)
      return invalid(absl::StrCat("tensor '", spec.name(), "' is ", it->second.describe(),
                                  " but the plan's variable is ", dtypeName(dtype),
                                  shapeString(shape)));
  }
  if (file.tensors.size() != static_cast<size_t>(plan.variables_size()))
    for (const auto &[tensorName, tensor] : file.tensors) {
      bool known = false;
      for (const plan::Variable &variable : plan.variables())
        known |= variable.tensor().name() == tensorName;
      if (!known)
        return invalid(absl::StrCat("tensor '", tensorName, "' is not a variable of this plan"));
    }
  return state;
}

} // namespace kiln::checkpoint
