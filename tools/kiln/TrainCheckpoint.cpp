//===- TrainCheckpoint.cpp - Checkpoints of kiln train --------------------===//

#include "TrainCheckpoint.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kiln::tool {

absl::StatusOr<ResumedRun> readResumedRun(const std::string &path, const plan::Plan &plan,
                                          std::optional<uint64_t> seed) {
  auto file = checkpoint::readSafetensors(path);
  if (!file.ok())
    return file.status();
  auto saved = checkpoint::validateCheckpoint(*file, plan, path);
  if (!saved.ok())
    return saved.status();
  if (seed && saved->seed != *seed)
    return absl::InvalidArgumentError(absl::StrCat("--seed ", *seed, " differs from the seed ",
                                                   saved->seed, " checkpoint ", path,
                                                   " was trained with; drop --seed"));
  return ResumedRun{std::move(*file), *saved};
}

absl::Status checkDataPosition(const checkpoint::TrainingState &state, int64_t batchesPerEpoch,
                               const std::string &path) {
  int64_t consumed = 0;
  if (__builtin_mul_overflow(state.dataEpoch, batchesPerEpoch, &consumed) ||
      __builtin_add_overflow(consumed, state.dataBatch, &consumed) || consumed != state.step)
    return absl::DataLossError(absl::StrCat(
        "checkpoint ", path, " has run ", state.step, " steps but its data position is epoch ",
        state.dataEpoch, ", batch ", state.dataBatch, " of ", batchesPerEpoch,
        " batches per epoch; its metadata is damaged, or it was trained on other data or "
        "another batch size"));
  return absl::OkStatus();
}

absl::Status restoreVariables(StepRunner &runner, const ResumedRun &resumed,
                              const std::string &path) {
  for (const auto &[name, value] : resumed.file.tensors)
    if (absl::Status status = runner.setVariable(name, value); !status.ok())
      return absl::Status(status.code(), absl::StrCat("cannot load '", name, "' from checkpoint ",
                                                      path, ": ", status.message()));
  return absl::OkStatus();
}

absl::Status saveCheckpoint(StepRunner &runner, const plan::Plan &plan, const std::string &path,
                            const checkpoint::TrainingState &state) {
  std::map<std::string, HostTensor, std::less<>> variables;
  for (const plan::Variable &variable : plan.variables()) {
    auto value = runner.variable(variable.tensor().name());
    if (!value.ok())
      return value.status();
    variables.emplace(variable.tensor().name(), std::move(*value));
  }
  return checkpoint::writeSafetensors(path,
                                      checkpoint::makeCheckpoint(std::move(variables), state));
}

absl::Status initializeFrom(StepRunner &runner, const plan::Plan &plan, const std::string &path) {
  auto file = checkpoint::readSafetensors(path);
  if (!file.ok())
    return file.status();
  for (const plan::Variable &variable : plan.variables()) {
    if (!variable.trainable())
      continue;
    const plan::TensorSpec &spec = variable.tensor();
    std::string wanted = absl::StrCat("[", absl::StrJoin(spec.shape(), ", "), "]");
    auto found = file->tensors.find(spec.name());
    if (found == file->tensors.end())
      return absl::NotFoundError(absl::StrCat(
          "--init-from ", path, " has no tensor '", spec.name(), "' (", wanted,
          "), a parameter of this plan; export the weights from a checkpoint of a plan with "
          "the same layers (kiln export)"));
    const HostTensor &value = found->second;
    std::vector<int64_t> shape(spec.shape().begin(), spec.shape().end());
    if (value.shape() != shape || value.dtype() != DType::kF32)
      return absl::InvalidArgumentError(absl::StrCat(
          "--init-from ", path, ": tensor '", spec.name(), "' has shape [",
          absl::StrJoin(value.shape(), ", "), "]", value.dtype() != DType::kF32 ? " (not f32)" : "",
          ", but this plan's parameter is f32 ", wanted,
          "; the weights come from a model with other layer sizes"));
    if (absl::Status status = runner.setVariable(spec.name(), value); !status.ok())
      return status;
  }
  return absl::OkStatus();
}

} // namespace kiln::tool
