//===- TrainCheckpoint.h - Checkpoints of kiln train ------------*- C++ -*-===//
//
// Saving and resuming a run: a checkpoint holds every variable, the step
// count, the data position and the seed, so a resumed run sees the same
// variables and batches as an uninterrupted one. --init-from starts a new run
// from exported parameters instead.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_TRAINCHECKPOINT_H
#define KILN_TOOLS_KILN_TRAINCHECKPOINT_H

#include "Runners.h"

#include "kiln/runtime/checkpoint/Checkpoint.h"

#include "absl/status/statusor.h"

#include <optional>
#include <string>

namespace kiln::tool {

/// A checkpoint read back for --resume: its variables and its training state.
struct ResumedRun {
  checkpoint::TensorFile file;
  checkpoint::TrainingState state;
};

/// Reads and validates the checkpoint at `path` for `plan`. With `seed`, the seed --seed gave,
/// fails when the checkpoint was trained with another one (the resumed run continues the
/// checkpoint's data stream, so its seed decides the data).
absl::StatusOr<ResumedRun> readResumedRun(const std::string &path, const plan::Plan &plan,
                                          std::optional<uint64_t> seed);

/// Fails with DataLoss when `state`'s step count is not where its data position (epoch,
/// batch) lies with `batchesPerEpoch` batches per epoch: damaged metadata, or a run on other
/// data or another batch size. `path` names the checkpoint in the message.
absl::Status checkDataPosition(const checkpoint::TrainingState &state, int64_t batchesPerEpoch,
                               const std::string &path);

/// Loads every variable of `resumed` into `runner`; fails naming the variable.
absl::Status restoreVariables(StepRunner &runner, const ResumedRun &resumed,
                              const std::string &path);

/// Reads every variable of `plan` from the device and saves them with `state` to `path`
/// (crash-safely: a temporary file, then a rename).
absl::Status saveCheckpoint(StepRunner &runner, const plan::Plan &plan, const std::string &path,
                            const checkpoint::TrainingState &state);

/// Sets every trainable variable of `plan` from the safetensors file at `path`; tensors the
/// plan has no trainable variable for are ignored. Fails naming the first missing tensor or
/// the first dtype or shape mismatch.
absl::Status initializeFrom(StepRunner &runner, const plan::Plan &plan, const std::string &path);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_TRAINCHECKPOINT_H
