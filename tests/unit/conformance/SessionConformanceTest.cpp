//===- SessionConformanceTest.cpp - The session core on every device ------===//
//
// The accumulate plan run for several steps on each device: results against
// host math, variables persisting and replaced, the latest two steps' outputs
// kept while the next step is staged, inputs checked (by message) before
// anything is submitted, one submission per step in the stats and their JSON.
// Vulkan runs with validation and synchronization validation on and must not
// report a single message.
//
//===----------------------------------------------------------------------===//

#include "ConformanceFixture.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace kiln::conformance {
namespace {

using ::testing::HasSubstr;
using Inputs = session::TensorMap;

uint64_t stepDispatches(const plan::Plan &plan) {
  return std::count_if(plan.step().commands().begin(), plan.step().commands().end(),
                       [](const plan::Command &command) { return command.has_dispatch(); });
}

TEST_P(ConformanceTest, VariablesStartFromTheirInitializer) {
  expectValues(session->variable("acc"), model.acc, "initial acc");
}

TEST_P(ConformanceTest, StepsMatchHostMathAndVariablesPersist) {
  for (int step = 0; step < 6; ++step) {
    std::vector<float> a = inputA(kN, step);
    std::vector<float> b = step % 2 ? defaultB(kN) : inputA(kN, step + 100);
    Inputs inputs = {{"a", tensor(a)}};
    if (step % 2 == 0)
      inputs.emplace("b", tensor(b));
    ASSERT_TRUE(session->step(inputs).ok());
    model.step(a, b);
    std::string label = "step " + std::to_string(step);
    expectValues(session->output("sum"), model.sum, label + " sum");
    expectValues(session->output("out"), model.out, label + " out");
    expectValues(session->output("shifted"), model.shifted, label + " shifted (a constant)");
  }
  expectValues(session->variable("acc"), model.acc, "acc after 6 steps");

  session::SessionStats stats = session->stats();
  EXPECT_EQ(stats.steps, 6u);
  EXPECT_EQ(stats.stepSubmits, 6u);
  EXPECT_EQ(stats.submitsPerStep, 1.0);
  const plan::Plan &plan = accumulatePlan();
  EXPECT_EQ(stats.dispatchesPerStep, GetParam().runsKernels ? stepDispatches(plan) : 0.0);
  EXPECT_EQ(stats.kernels, GetParam().runsKernels ? plan.kernels_size() : 0);
  EXPECT_EQ(stats.recordedSteps, 2u) << "the step is recorded once per slot, never per step";
  EXPECT_EQ(stats.recordedPrograms, 2u) << "eval and probe, once each";
  EXPECT_EQ(stats.programRuns, 0u);
  EXPECT_GE(stats.persistentBytes, 4u * kN);
  EXPECT_EQ(stats.timedSteps, 6u);
  EXPECT_GT(stats.stepSeconds, 0.0);
  if (stats.gpuStepSeconds)
    EXPECT_GE(*stats.gpuStepSeconds, 0.0);
}

TEST_P(ConformanceTest, OutputsOfStepNAreReadWhileStepNPlusOneIsStaged) {
  // Pipelined loop: submit step k, then read step k-1, which lives in the other slot.
  std::vector<std::vector<float>> expectedOut;
  for (int step = 0; step < 8; ++step) {
    std::vector<float> a = inputA(kN, step);
    ASSERT_TRUE(session->step({{"a", tensor(a)}}).ok());
    model.step(a, defaultB(kN));
    expectedOut.push_back(model.out);
    if (step > 0)
      expectValues(session->output("out", step - 1), expectedOut[step - 1],
                   "out of step " + std::to_string(step - 1) + " read after step " +
                       std::to_string(step) + " was submitted");
  }
  expectValues(session->output("out", 7), expectedOut[7], "out of step 7");
  expectValues(session->output("out"), expectedOut[7], "latest out");
  expectValues(session->output("out", 6), expectedOut[6], "out of step 6, still kept");

  absl::StatusOr<HostTensor> gone = session->output("out", 5);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(gone.status().message()),
              HasSubstr("output 'out' of step 5 is gone: step 7 reused its readback buffer"));
  absl::StatusOr<HostTensor> future = session->output("out", 8);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(future.status().message()),
              HasSubstr("of step 8 requested but only 8 steps were submitted"));
  EXPECT_EQ(session->stats().submitsPerStep, 1.0);
}

TEST_P(ConformanceTest, SetVariableReplacesStateBetweenSteps) {
  std::vector<float> zeros(kN, 0.0f);
  ASSERT_TRUE(session->setVariable("acc", tensor(zeros)).ok());
  model.acc = zeros;
  expectValues(session->variable("acc"), zeros, "acc after setVariable");
  std::vector<float> a = inputA(kN, 1);
  ASSERT_TRUE(session->step({{"a", tensor(a)}}).ok());
  model.step(a, defaultB(kN));
  expectValues(session->output("out"), model.out, "out after setVariable");

  // f64 values are converted to the variable's f32.
  std::vector<double> ones(kN, 1.0);
  ASSERT_TRUE(session->setVariable("acc", HostTensor::f64({kN}, ones)).ok());
  expectValues(session->variable("acc"), std::vector<float>(kN, 1.0f), "acc from f64");

  absl::Status wrongShape =
      session->setVariable("acc", HostTensor::f32({2}, std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(wrongShape.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrongShape.message()),
              HasSubstr("variable 'acc' expects f32[1000] but got f32[2]"));
  absl::StatusOr<HostTensor> unknown = session->variable("nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("no variable 'nope'; its variables are: acc"));
  EXPECT_EQ(session->stats().stepSubmits, 1u);
}

TEST_P(ConformanceTest, BadInputsAreRejectedBeforeAnythingIsSubmitted) {
  std::vector<float> a = inputA(kN, 0);
  absl::Status unknown = session->step({{"a", tensor(a)}, {"c", tensor(a)}});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(unknown.message()),
      HasSubstr("step was given unknown input 'c'; the inputs of program 'train' are: a, b"));
  absl::Status shape = session->step({{"a", HostTensor::f32({2, 500}, a)}});
  EXPECT_EQ(shape.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(shape.message()),
              HasSubstr("input 'a' expects f32[1000] but got f32[2x500]"));
  absl::Status dtype = session->step({{"a", HostTensor(DType::kI32, {kN})}});
  EXPECT_THAT(std::string(dtype.message()), HasSubstr("input 'a' expects f32[1000] but got i32"));
  absl::Status missing = session->step({{"b", tensor(a)}});
  EXPECT_THAT(std::string(missing.message()),
              HasSubstr("input 'a' was not given and has no default value"));
  EXPECT_EQ(session->stepsSubmitted(), 0u);
  absl::StatusOr<HostTensor> early = session->output("out");
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(early.status().message()),
              HasSubstr("output 'out' requested before any step ran"));

  // f64 inputs are converted; the variable is untouched by the failed calls.
  std::vector<double> a64(a.begin(), a.end());
  ASSERT_TRUE(session->step({{"a", HostTensor::f64({kN}, a64)}}).ok());
  model.step(a, defaultB(kN));
  expectValues(session->output("out"), model.out, "out from f64 input");
  absl::StatusOr<HostTensor> unknownOutput = session->output("loss");
  EXPECT_EQ(unknownOutput.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknownOutput.status().message()),
              HasSubstr("no output 'loss'; its outputs are: out, shifted, sum"));
}

TEST_P(ConformanceTest, StatsJsonHasTheMeasuredCounters) {
  for (int step = 0; step < 3; ++step)
    ASSERT_TRUE(session->step({{"a", tensor(inputA(kN, step))}}).ok());
  ASSERT_TRUE(session->synchronize().ok());
  std::string path =
      (std::filesystem::path(::testing::TempDir()) / ("stats-" + GetParam().name + ".json"))
          .string();
  ASSERT_TRUE(session->writeStatsJson(path).ok());
  std::ifstream in(path);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  session::SessionStats stats = session->stats();
  EXPECT_THAT(json, HasSubstr("\"steps\": 3,"));
  EXPECT_THAT(json, HasSubstr("\"submits_per_step\": 1,"));
  EXPECT_THAT(json, HasSubstr("\"kernels\": " + std::to_string(stats.kernels) + ","));
  EXPECT_THAT(json, HasSubstr("\"timed_steps\": 3,"));
  EXPECT_THAT(json, HasSubstr("\"recorded_steps\": 2,"));
  EXPECT_THAT(json, HasSubstr("\"arena_bytes\": " + std::to_string(stats.arenaBytes) + ","));
  EXPECT_THAT(json, HasSubstr("\"device_name\": \"" + stats.deviceName + "\""));
  for (const session::StatsMember &member : stats.deviceMembers)
    EXPECT_THAT(json, HasSubstr("\"" + member.key + "\": "));
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.substr(json.size() - 2), "}\n");
}

INSTANTIATE_TEST_SUITE_P(Devices, ConformanceTest, ::testing::ValuesIn(allDevices()),
                         [](const auto &info) { return info.param.name; });

} // namespace
} // namespace kiln::conformance
