//===- Schedule.h - Learning-rate schedules of kiln train -------*- C++ -*-===//
//
// The learning rate of each step as a pure function of the global step index
// (0-based, counting the steps of a resumed checkpoint), so a resumed run
// continues its schedule exactly. kiln train feeds the value to the plan's
// "learning_rate" input each step; no recompilation is needed.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_SCHEDULE_H
#define KILN_TOOLS_KILN_SCHEDULE_H

#include "absl/status/statusor.h"

#include <cstdint>
#include <string_view>

namespace kiln::tool {

enum class ScheduleKind { kConstant, kStep, kCosine };

/// A learning-rate schedule. With step index s (0-based), base rate B and total steps T:
///   constant: B
///   step:     B * gamma^floor(s / stepSize)
///   cosine:   minimum + (B - minimum) * (1 + cos(pi * s / T)) / 2
/// and, when warmupSteps W > 0, the result is multiplied by (s + 1) / W for s < W: a linear
/// warm-up from B / W at step 0 to B at step W - 1.
struct LearningRateSchedule {
  ScheduleKind kind = ScheduleKind::kConstant;
  double base = 0;
  int64_t stepSize = 1;
  double gamma = 0.1;
  double minimum = 0;
  int64_t totalSteps = 1;
  int64_t warmupSteps = 0;
};

/// "constant" | "step" | "cosine"; InvalidArgument naming the accepted values otherwise.
absl::StatusOr<ScheduleKind> parseScheduleKind(std::string_view name);

/// Checks the schedule's parameters: base > 0, stepSize >= 1, gamma > 0, 0 <= minimum <= base,
/// totalSteps >= 1, warmupSteps >= 0. InvalidArgument naming the flag at fault otherwise.
absl::Status validateSchedule(const LearningRateSchedule &schedule);

/// The learning rate of step `step` (0-based, global). Assumes a valid schedule.
double learningRateAt(const LearningRateSchedule &schedule, int64_t step);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_SCHEDULE_H
