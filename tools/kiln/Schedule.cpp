//===- Schedule.cpp - Learning-rate schedules of kiln train ---------------===//
//
// The formulas documented in Schedule.h, and the checks of their flags.
//
//===----------------------------------------------------------------------===//

#include "Schedule.h"

#include "absl/strings/str_cat.h"

#include <cmath>
#include <numbers>

namespace kiln::tool {

absl::StatusOr<ScheduleKind> parseScheduleKind(std::string_view name) {
  if (name == "constant")
    return ScheduleKind::kConstant;
  if (name == "step")
    return ScheduleKind::kStep;
  if (name == "cosine")
    return ScheduleKind::kCosine;
  return absl::InvalidArgumentError(absl::StrCat("unknown --lr-schedule '", std::string(name),
                                                 "'; use constant, step or cosine"));
}

absl::Status validateSchedule(const LearningRateSchedule &schedule) {
  // A rate of 0 is allowed: it runs the steps (and updates optimizer state) without
  // changing the parameters, as the training API allows.
  if (!(schedule.base >= 0 && std::isfinite(schedule.base)))
    return absl::InvalidArgumentError(
        absl::StrCat("--lr must be a finite rate of 0 or more, not ", schedule.base));
  if (schedule.stepSize < 1)
    return absl::InvalidArgumentError("--lr-step-size must be at least 1");
  if (!(schedule.gamma > 0))
    return absl::InvalidArgumentError("--lr-gamma must be positive");
  if (!(schedule.minimum >= 0 && schedule.minimum <= schedule.base))
    return absl::InvalidArgumentError(
        absl::StrCat("--lr-min must lie in [0, ", schedule.base, "] (the base rate --lr)"));
  if (schedule.totalSteps < 1)
    return absl::InvalidArgumentError("the schedule needs at least one step");
  if (schedule.warmupSteps < 0)
    return absl::InvalidArgumentError("--warmup-steps must not be negative");
  return absl::OkStatus();
}

double learningRateAt(const LearningRateSchedule &schedule, int64_t step) {
  double rate = schedule.base;
  switch (schedule.kind) {
  case ScheduleKind::kConstant:
    break;
  case ScheduleKind::kStep:
    rate = schedule.base * std::pow(schedule.gamma, static_cast<double>(step / schedule.stepSize));
    break;
  case ScheduleKind::kCosine: {
    double progress = static_cast<double>(step) / static_cast<double>(schedule.totalSteps);
    rate = schedule.minimum +
           (schedule.base - schedule.minimum) * (1 + std::cos(std::numbers::pi * progress)) / 2;
    break;
  }
  }
  if (step < schedule.warmupSteps)
    rate *= static_cast<double>(step + 1) / static_cast<double>(schedule.warmupSteps);
  return rate;
}

} // namespace kiln::tool
