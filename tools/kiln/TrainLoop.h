//===- TrainLoop.h - The steps of a kiln train run --------------*- C++ -*-===//
//
// Runs the steps of a run from its first (0, or a resumed checkpoint's step)
// to its last: each step is one submission fed from the prefetcher, the loss
// of step N-1 is read while step N runs, the test split is measured after each
// epoch (with --epochs), every --eval-every steps and at the end (text data:
// its validation windows, reported as "val loss"), a validation split drives early
// stopping, and checkpoints are saved on the way.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_TRAINLOOP_H
#define KILN_TOOLS_KILN_TRAINLOOP_H

#include "Runners.h"
#include "Schedule.h"
#include "TrainBinding.h"
#include "TrainMetrics.h"
#include "TrainOptions.h"
#include "TrainProgress.h"

#include "kiln/runtime/checkpoint/Checkpoint.h"
#include "kiln/runtime/data/Prefetcher.h"

#include "absl/status/statusor.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::tool {

/// Everything one run needs; the caller owns every pointee.
struct TrainRun {
  const TrainOptions *options = nullptr;
  const plan::Plan *plan = nullptr;
  const InputBindings *bindings = nullptr;
  const EvalProgram *eval = nullptr;
  StepRunner *runner = nullptr;
  data::Prefetcher *prefetcher = nullptr;
  /// Null when the plan has no eval program to measure with.
  std::shared_ptr<const data::Dataset> test;
  /// How the test split is reported: "test", or "val" for text's validation windows.
  std::string heldOutName = "test";
  /// Null: no validation split.
  std::shared_ptr<const data::Dataset> validation;
  /// Null: no --metrics file.
  MetricsFile *metrics = nullptr;
  LearningRateSchedule schedule;
  /// Steps already trained (a resumed checkpoint's); the run ends after totalSteps in all.
  int64_t firstStep = 0;
  int64_t totalSteps = 0;
  int64_t batchesPerEpoch = 0;
  /// What a checkpoint records besides the variables; the loop updates the step and position.
  checkpoint::TrainingState state;
};

struct TrainResult {
  /// The loss of every step this run trained, from step firstStep + 1 on.
  std::vector<float> losses;
  /// One JSON object per evaluation of the test split, for --stats-json.
  std::vector<std::string> evaluations;
  /// Wall time from the first step to the end of the last evaluation.
  double seconds = 0;
};

/// Trains `run` to its end (or early stop) and measures the test split. Fails with the first
/// error of a step, a loss that is not finite (DataLoss, with a hint), an evaluation, the
/// metrics file or a checkpoint save (saying that the previous checkpoint is intact).
absl::StatusOr<TrainResult> runTrainingLoop(TrainRun &run);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_TRAINLOOP_H
