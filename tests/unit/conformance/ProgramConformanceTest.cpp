//===- ProgramConformanceTest.cpp - Programs, plan files, checkpoints -----===//
//
// What the session core promises beyond the step, on each device: run()
// results of "eval" and "probe" against host math when interleaved with
// asynchronous steps (so a program sees every earlier step's variable
// update), the errors of run(), stats that keep steps and program runs apart,
// a step with legacy (empty) lists beside programs, a plan read back from
// disk, and a checkpoint (every variable through variable() and
// setVariable()) that resumes bit-exactly in a fresh session.
//
//===----------------------------------------------------------------------===//

#include "ConformanceFixture.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/checkpoint/Checkpoint.h"
#include "kiln/runtime/checkpoint/Safetensors.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <filesystem>

namespace kiln::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<float> evalA(int run) {
  std::vector<float> values(kN);
  for (int64_t i = 0; i < kN; ++i)
    values[i] = 100.0f + static_cast<float>(i % 7) + static_cast<float>(run);
  return values;
}

std::vector<std::string> keys(const session::TensorMap &tensors) {
  std::vector<std::string> names;
  for (const auto &[name, value] : tensors)
    names.push_back(name);
  return names;
}

class ProgramConformanceTest : public ConformanceTest {
protected:
  /// Runs "eval" on evalA(run) and checks both of its outputs against the model.
  void expectEval(int run, const std::string &when) {
    absl::StatusOr<session::TensorMap> outputs = session->run("eval", {{"a", tensor(evalA(run))}});
    ASSERT_TRUE(outputs.ok()) << when << ": " << outputs.status();
    ASSERT_THAT(keys(*outputs), ElementsAre("out", "sum")) << when;
    expectValues(outputs->at("sum"), model.evalSum(evalA(run)), "eval sum " + when);
    expectValues(outputs->at("out"), model.evalOut(evalA(run)), "eval out " + when);
  }
  void expectProbe(const std::string &when) {
    absl::StatusOr<session::TensorMap> probe = session->run("probe", {});
    ASSERT_TRUE(probe.ok()) << when << ": " << probe.status();
    ASSERT_THAT(keys(*probe), ElementsAre("twice"));
    expectValues(probe->at("twice"), model.twice(), "probe " + when);
  }
};

TEST_P(ProgramConformanceTest, EvalBeforeAnyStepSeesTheInitialVariables) {
  expectEval(0, "before any step");
  expectProbe("before any step");
}

TEST_P(ProgramConformanceTest, InterleavedRunsSeeEveryEarlierStep) {
  // 7 steps and 4 runs: step, step, eval, step, probe, eval, step, step, step, eval, step. The
  // steps are not waited for, so each run must be ordered after the in-flight steps, and the
  // next step after the run.
  const std::string schedule = "ssespessses";
  std::vector<std::vector<float>> stepSums;
  int steps = 0, runs = 0;
  for (char action : schedule) {
    std::string when = "after " + std::to_string(steps) + " steps";
    if (action == 's') {
      std::vector<float> a = inputA(kN, steps);
      ASSERT_TRUE(session->step({{"a", tensor(a)}}).ok());
      model.step(a, defaultB(kN));
      stepSums.push_back(model.sum);
      ++steps;
    } else if (action == 'e') {
      expectEval(runs++, when);
    } else {
      expectProbe(when);
    }
  }
  // output() reads the step's own outputs, not eval's same-named ones, and eval changed no
  // variable.
  expectValues(session->output("out"), model.out, "step out of the last step");
  expectValues(session->output("sum", steps - 2), stepSums[steps - 2], "step sum, step 5");
  expectValues(session->output("sum", steps - 1), stepSums[steps - 1], "step sum, step 6");
  expectValues(session->variable("acc"), model.acc, "acc after the schedule");

  session::SessionStats stats = session->stats();
  EXPECT_EQ(stats.steps, 7u);
  EXPECT_EQ(stats.stepSubmits, 7u);
  EXPECT_EQ(stats.submitsPerStep, 1.0) << "program runs must not count as step submits";
  EXPECT_EQ(stats.programRuns, 4u);
  EXPECT_EQ(stats.recordedSteps, 2u);
  EXPECT_EQ(stats.recordedPrograms, 2u) << "each program is recorded once, never per run";
  EXPECT_THAT(session::toJson(stats), HasSubstr("\"program_runs\": 4,"));
  EXPECT_THAT(session::toJson(stats), HasSubstr("\"recorded_programs\": 2,"));
}

TEST_P(ProgramConformanceTest, RunsCountNeitherAsStepsNorAsOtherSubmits) {
  uint64_t otherBefore = session->stats().otherSubmits;
  expectEval(0, "first run");
  expectEval(1, "second run");
  session::SessionStats stats = session->stats();
  EXPECT_EQ(stats.programRuns, 2u);
  EXPECT_EQ(stats.otherSubmits, otherBefore);
  EXPECT_EQ(stats.steps, 0u);
  EXPECT_EQ(stats.stepSubmits, 0u);
  EXPECT_EQ(stats.submitsPerStep, 0.0);
  EXPECT_EQ(session->stepsSubmitted(), 0u);
  EXPECT_THAT(session->programNames(), ElementsAre("eval", "probe"));
}

TEST_P(ProgramConformanceTest, RunRejectsUnknownProgramsAndBadInputs) {
  absl::StatusOr<session::TensorMap> unknown = session->run("test", {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("the plan has no program 'test'; its programs are: eval, probe"));
  absl::StatusOr<session::TensorMap> train = session->run("train", {{"a", tensor(evalA(0))}});
  EXPECT_EQ(train.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(train.status().message()),
              HasSubstr("program 'train' is the training step; submit it with step()"));

  absl::StatusOr<session::TensorMap> stepOnlyInput =
      session->run("eval", {{"a", tensor(evalA(0))}, {"b", tensor(evalA(0))}});
  EXPECT_EQ(stepOnlyInput.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(stepOnlyInput.status().message()),
              HasSubstr("program 'eval' was given unknown input 'b'; the inputs of program "
                        "'eval' are: a"));
  absl::StatusOr<session::TensorMap> shape =
      session->run("eval", {{"a", HostTensor::f32({1}, std::vector<float>{1.0f})}});
  EXPECT_EQ(shape.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(shape.status().message()),
              HasSubstr("input 'a' expects f32[1000] but got f32[1]"));
  absl::StatusOr<session::TensorMap> missing = session->run("eval", {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("input 'a' was not given and has no default value; program 'eval' "
                        "reads it"));
  absl::StatusOr<session::TensorMap> probeInput = session->run("probe", {{"a", tensor(evalA(0))}});
  EXPECT_THAT(std::string(probeInput.status().message()),
              HasSubstr("unknown input 'a'; the inputs of program 'probe' are: (none)"));
  EXPECT_EQ(session->stats().programRuns, 0u) << "nothing is submitted for a bad call";

  // A program's outputs are not the step's.
  ASSERT_TRUE(session->step({{"a", tensor(inputA(kN, 0))}}).ok());
  absl::StatusOr<HostTensor> twice = session->output("twice");
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(twice.status().message()),
              HasSubstr("the training step has no output 'twice'; its outputs are: out, "
                        "shifted, sum (other programs' outputs are returned by run())"));
  absl::Status evalOnlyInput =
      session->step({{"a", tensor(inputA(kN, 1))}, {"c", tensor(evalA(0))}});
  EXPECT_EQ(evalOnlyInput.code(), absl::StatusCode::kInvalidArgument);
  model.step(inputA(kN, 0), defaultB(kN));
  expectEval(0, "after the rejected calls");
}

TEST_P(ProgramConformanceTest, LegacyStepListsWorkBesideAProgram) {
  plan::Plan plan = accumulatePlan();
  plan.mutable_step()->clear_name();
  plan.mutable_step()->clear_inputs();
  plan.mutable_step()->clear_outputs();
  absl::StatusOr<std::unique_ptr<session::Session>> legacy = GetParam().create(std::move(plan));
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  session = *std::move(legacy);
  for (int step = 0; step < 3; ++step) {
    ASSERT_TRUE(session->step({{"a", tensor(inputA(kN, step))}}).ok());
    model.step(inputA(kN, step), defaultB(kN));
    expectEval(step, "legacy step " + std::to_string(step));
  }
  expectValues(session->output("sum"), model.sum, "legacy step sum");
  expectValues(session->output("out"), model.out, "legacy step out");
  absl::StatusOr<HostTensor> twice = session->output("twice");
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kNotFound)
      << "an output another program lists is not the legacy step's";
}

TEST_P(ProgramConformanceTest, PlanWrittenToDiskRunsAfterLoading) {
  std::string path =
      (std::filesystem::path(::testing::TempDir()) / ("accumulate-" + GetParam().name + ".kplan"))
          .string();
  ASSERT_TRUE(plan::writePlanFile(accumulatePlan(), path).ok());
  absl::StatusOr<plan::Plan> loaded = plan::readPlanFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::unique_ptr<session::Session>> fromFile =
      GetParam().create(*std::move(loaded));
  ASSERT_TRUE(fromFile.ok()) << fromFile.status();
  std::vector<float> a = inputA(kN, 4);
  ASSERT_TRUE((*fromFile)->step({{"a", tensor(a)}}).ok());
  model.step(a, defaultB(kN));
  expectValues((*fromFile)->output("out"), model.out, "out from a loaded plan");
  expectNoValidationMessages(**fromFile);
}

TEST_P(ProgramConformanceTest, CheckpointResumesBitExactlyInAFreshSession) {
  for (int step = 0; step < 3; ++step)
    ASSERT_TRUE(session->step({{"a", tensor(inputA(kN, step))}}).ok());
  const plan::Plan &plan = accumulatePlan();
  session::TensorMap variables;
  for (const plan::Variable &variable : plan.variables()) {
    absl::StatusOr<HostTensor> value = session->variable(variable.tensor().name());
    ASSERT_TRUE(value.ok()) << value.status();
    variables.emplace(variable.tensor().name(), *std::move(value));
  }
  checkpoint::TrainingState state;
  state.planSha256 = checkpoint::planSha256(plan);
  state.step = 3;
  std::string path =
      (std::filesystem::path(::testing::TempDir()) / ("resume-" + GetParam().name + ".safetensors"))
          .string();
  ASSERT_TRUE(
      checkpoint::writeSafetensors(path, checkpoint::makeCheckpoint(variables, state)).ok());

  absl::StatusOr<checkpoint::TensorFile> file = checkpoint::readSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<checkpoint::TrainingState> read =
      checkpoint::validateCheckpoint(*file, plan, path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->step, 3);
  absl::StatusOr<std::unique_ptr<session::Session>> resumed = GetParam().create(plan);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  for (const auto &[name, value] : file->tensors)
    ASSERT_TRUE((*resumed)->setVariable(name, value).ok()) << name;

  std::vector<float> a = inputA(kN, 3);
  ASSERT_TRUE(session->step({{"a", tensor(a)}}).ok());
  ASSERT_TRUE((*resumed)->step({{"a", tensor(a)}}).ok());
  absl::StatusOr<HostTensor> expected = session->output("out");
  ASSERT_TRUE(expected.ok()) << expected.status();
  std::vector<float> expectedOut(expected->f32().begin(), expected->f32().end());
  expectValues((*resumed)->output("out"), expectedOut, "out of the resumed session");
  absl::StatusOr<HostTensor> original = session->variable("acc");
  absl::StatusOr<HostTensor> continued = (*resumed)->variable("acc");
  ASSERT_TRUE(original.ok() && continued.ok());
  EXPECT_EQ(std::vector<uint8_t>(original->bytes().begin(), original->bytes().end()),
            std::vector<uint8_t>(continued->bytes().begin(), continued->bytes().end()))
      << "acc differs bit-wise after resuming";
  expectNoValidationMessages(**resumed);
}

INSTANTIATE_TEST_SUITE_P(Devices, ProgramConformanceTest, ::testing::ValuesIn(allDevices()),
                         [](const auto &info) { return info.param.name; });

} // namespace
} // namespace kiln::conformance
