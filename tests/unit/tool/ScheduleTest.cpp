//===- ScheduleTest.cpp - Learning-rate schedules of kiln train -----------===//
//
// Each schedule's formula at specific steps, warm-up composed with each, and
// the messages for bad parameters.
//
//===----------------------------------------------------------------------===//

#include "Schedule.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <limits>

#include <cmath>
#include <numbers>

namespace kiln::tool {
namespace {

using ::testing::HasSubstr;

LearningRateSchedule schedule(ScheduleKind kind) {
  LearningRateSchedule result;
  result.kind = kind;
  result.base = 0.1;
  result.stepSize = 10;
  result.gamma = 0.5;
  result.minimum = 0.01;
  result.totalSteps = 100;
  return result;
}

TEST(ScheduleTest, ConstantIsTheBaseAtEveryStep) {
  LearningRateSchedule s = schedule(ScheduleKind::kConstant);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 57), 0.1);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 1000), 0.1);
}

TEST(ScheduleTest, StepDecaysByGammaEveryStepSizeSteps) {
  LearningRateSchedule s = schedule(ScheduleKind::kStep);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 9), 0.1);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 10), 0.05);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 19), 0.05);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 20), 0.025);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 35), 0.0125);
}

TEST(ScheduleTest, CosineGoesFromBaseToMinimumOverTheRun) {
  LearningRateSchedule s = schedule(ScheduleKind::kCosine);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 50), 0.055);
  EXPECT_DOUBLE_EQ(learningRateAt(s, 25), 0.01 + 0.09 * (1 + std::cos(std::numbers::pi / 4)) / 2);
  EXPECT_NEAR(learningRateAt(s, 100), 0.01, 1e-15);
  EXPECT_GT(learningRateAt(s, 99), 0.01);
  EXPECT_LT(learningRateAt(s, 99), 0.0101);
}

TEST(ScheduleTest, WarmupRampsLinearlyThenHandsOverToTheSchedule) {
  LearningRateSchedule constant = schedule(ScheduleKind::kConstant);
  constant.warmupSteps = 4;
  EXPECT_DOUBLE_EQ(learningRateAt(constant, 0), 0.025);
  EXPECT_DOUBLE_EQ(learningRateAt(constant, 1), 0.05);
  EXPECT_DOUBLE_EQ(learningRateAt(constant, 3), 0.1);
  EXPECT_DOUBLE_EQ(learningRateAt(constant, 4), 0.1);

  LearningRateSchedule step = schedule(ScheduleKind::kStep);
  step.stepSize = 2;
  step.warmupSteps = 4;
  EXPECT_DOUBLE_EQ(learningRateAt(step, 2), 0.05 * 0.75);
  EXPECT_DOUBLE_EQ(learningRateAt(step, 4), 0.025);

  LearningRateSchedule cosine = schedule(ScheduleKind::kCosine);
  cosine.warmupSteps = 10;
  EXPECT_DOUBLE_EQ(learningRateAt(cosine, 4),
                   0.5 * (0.01 + 0.09 * (1 + std::cos(std::numbers::pi * 0.04)) / 2));
  EXPECT_DOUBLE_EQ(learningRateAt(cosine, 50), 0.055);
}

TEST(ScheduleTest, ParsesTheThreeKindsAndRejectsOthers) {
  EXPECT_EQ(*parseScheduleKind("constant"), ScheduleKind::kConstant);
  EXPECT_EQ(*parseScheduleKind("step"), ScheduleKind::kStep);
  EXPECT_EQ(*parseScheduleKind("cosine"), ScheduleKind::kCosine);
  auto bad = parseScheduleKind("linear");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("use constant, step or cosine"));
}

TEST(ScheduleTest, ValidationNamesTheFlagAtFault) {
  EXPECT_TRUE(validateSchedule(schedule(ScheduleKind::kCosine)).ok());
  LearningRateSchedule s = schedule(ScheduleKind::kStep);
  s.stepSize = 0;
  EXPECT_THAT(validateSchedule(s).message(), HasSubstr("--lr-step-size"));
  s = schedule(ScheduleKind::kStep);
  s.gamma = 0;
  EXPECT_THAT(validateSchedule(s).message(), HasSubstr("--lr-gamma"));
  s = schedule(ScheduleKind::kCosine);
  s.minimum = 0.2;
  EXPECT_THAT(validateSchedule(s).message(), HasSubstr("--lr-min"));
  s = schedule(ScheduleKind::kConstant);
  s.warmupSteps = -1;
  EXPECT_THAT(validateSchedule(s).message(), HasSubstr("--warmup-steps"));
  s = schedule(ScheduleKind::kConstant);
  s.base = -0.1;
  EXPECT_THAT(validateSchedule(s).message(), HasSubstr("--lr must be a finite rate of 0 or more"));
  s.base = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(validateSchedule(s).message(), HasSubstr("--lr must be a finite rate of 0 or more"));
}

// A rate of 0 is what the training API allows: the parameters stay as they are.
TEST(ScheduleTest, ZeroRateIsAllowed) {
  LearningRateSchedule s = schedule(ScheduleKind::kConstant);
  s.base = 0;
  s.minimum = 0;
  EXPECT_TRUE(validateSchedule(s).ok());
  EXPECT_EQ(learningRateAt(s, 3), 0.0);
}

} // namespace
} // namespace kiln::tool
