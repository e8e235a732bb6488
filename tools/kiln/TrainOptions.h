//===- TrainOptions.h - The flags of kiln train -----------------*- C++ -*-===//
//
// kiln train's command line, parsed and checked on its own: every flag's value
// and the combinations that cannot work are refused before a plan is read.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_TRAINOPTIONS_H
#define KILN_TOOLS_KILN_TRAINOPTIONS_H

#include "Schedule.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::tool {

/// What a kiln train command line asks for. An optional member is a flag that was not given.
struct TrainOptions {
  std::string planPath;
  std::string data = "fashion-mnist";
  std::string device = "auto";
  std::string vulkanDevice;
  std::string cudaDevice = "0";
  uint32_t threads = 0; ///< the cpu device's threads; 0: the cores this process may use
  bool validation = false;

  std::optional<int64_t> steps;
  std::optional<int64_t> epochs;
  uint64_t seed = 0;
  bool seedGiven = false;
  int64_t logEvery = 50;

  std::optional<double> learningRate;
  ScheduleKind scheduleKind = ScheduleKind::kConstant;
  bool scheduleGiven = false;
  int64_t stepSize = 1000;
  double gamma = 0.1;
  double minimumRate = 0;
  int64_t warmupSteps = 0;
  /// true when --lr, --lr-schedule or --warmup-steps is given: the trainer then feeds the
  /// plan's "learning_rate" input; otherwise the plan's default applies.
  bool feedLearningRate = false;

  /// 0: no early stopping.
  int64_t patience = 0;
  /// 0: no validation split.
  double validationFraction = 0;

  std::optional<std::string> metricsPath;
  std::optional<std::string> statsJsonPath;
  std::optional<std::string> checkpointPath;
  /// 0: checkpoint at the end of each epoch.
  int64_t checkpointEvery = 0;
  std::optional<std::string> resumePath;
  std::optional<std::string> initFromPath;
  /// 0: measure the held-out split only per epoch (with --epochs) and at the end.
  int64_t evalEvery = 0;
  /// text:FILE: the most batches of validation windows an evaluation measures.
  int64_t evalBatches = 16;
};

/// Parses the arguments after "kiln train". Fails with InvalidArgument naming the flag at fault
/// (an unknown flag, a value that is not a number, a value out of range, or flags that do not
/// go together).
absl::StatusOr<TrainOptions> parseTrainOptions(const std::vector<std::string> &args);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_TRAINOPTIONS_H
