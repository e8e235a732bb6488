//===- Checkpoint.h - Training checkpoints of a plan ------------*- C++ -*-===//
//
// A training checkpoint is a safetensors file (Safetensors.h) holding every
// variable of a plan (parameters and optimizer state, e.g. `fc1.weight.adam_m`
// and `optimizer.step`) under its variable name, and in "__metadata__":
//
//   kiln.format       "kiln-checkpoint-1"
//   kiln.plan_sha256  SHA-256 (hex) of the plan's deterministic serialization,
//                     plan::serializePlan(plan): the payload of the .kplan file,
//                     whose header carries the same digest
//   kiln.step         steps trained so far
//   kiln.data_epoch   the data position to resume from (Batch::nextPosition of
//   kiln.data_batch   the last batch trained on)
//   kiln.seed         the data seed (shuffle order and synthetic data)
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CHECKPOINT_CHECKPOINT_H
#define KILN_RUNTIME_CHECKPOINT_CHECKPOINT_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/checkpoint/Safetensors.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::checkpoint {

inline constexpr std::string_view kCheckpointFormat = "kiln-checkpoint-1";

/// Where a training run stands, besides its variables.
struct TrainingState {
  /// planSha256(plan) of the plan being trained.
  std::string planSha256;
  /// Steps trained so far.
  int64_t step = 0;
  /// The data position the next step trains on.
  int64_t dataEpoch = 0;
  int64_t dataBatch = 0;
  /// The data seed.
  uint64_t seed = 0;
};

/// SHA-256 (lower-case hex) of plan::serializePlan(plan).
std::string planSha256(const plan::Plan &plan);

/// A TensorFile holding `variables` and `state` as metadata.
TensorFile makeCheckpoint(std::map<std::string, HostTensor, std::less<>> variables,
                          const TrainingState &state);

/// Checks that `file` (read from `origin`) is a training checkpoint of `plan`: the format tag,
/// the plan hash (FailedPrecondition: "checkpoint X was written for plan A, but this plan is
/// B; resume with the plan it was trained with"), integer metadata, and one tensor of the
/// right dtype and shape for every variable of the plan and nothing else (InvalidArgument
/// naming the tensor). Returns the training state.
absl::StatusOr<TrainingState> validateCheckpoint(const TensorFile &file, const plan::Plan &plan,
                                                 std::string_view origin);

} // namespace kiln::checkpoint

#endif // KILN_RUNTIME_CHECKPOINT_CHECKPOINT_H
