//===- SessionProgramsTest.cpp - Programs beside the training step --------===//
//
// The accumulate plan with an "eval" and a "probe" program (VulkanTestSupport.h)
// run with validation and synchronization validation on: run() results against
// host math when interleaved with asynchronous steps (so a program must see
// every earlier step's variable update), per-program outputs sharing names,
// the errors of run(), stats that keep steps and program runs apart, the
// legacy (empty-list) step beside programs, and sync validation of programs.
//
//===----------------------------------------------------------------------===//

#include "VulkanTestSupport.h"

#include "kiln/runtime/Initializer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::vulkan {
namespace {

using ::testing::Contains;
using testing::defaultB;
using ::testing::ElementsAre;
using testing::expectNoValidationMessages;
using ::testing::HasSubstr;
using testing::makeAccumulatePlanWithPrograms;
using testing::validatedOptions;

constexpr int64_t kN = 300; // 5 workgroups of 64, the last one partial

using Inputs = Session::TensorMap;

/// The host's model of the accumulate plan and its programs.
struct HostModel {
  std::vector<float> acc;
  std::vector<float> sum, out;

  HostModel() : acc(kN) { fillInitializer(InitKind::kUniform, -1, 1, 7, 3, std::span<float>(acc)); }
  void step(const std::vector<float> &a) {
    std::vector<float> b = defaultB(kN);
    sum.resize(kN);
    out.resize(kN);
    for (int64_t i = 0; i < kN; ++i) {
      sum[i] = a[i] + b[i];
      out[i] = (sum[i] + acc[i]) * 0.5f;
    }
    acc = out;
  }
  std::vector<float> evalSum(const std::vector<float> &a) const {
    std::vector<float> values(kN);
    for (int64_t i = 0; i < kN; ++i)
      values[i] = a[i] + acc[i];
    return values;
  }
  std::vector<float> evalOut(const std::vector<float> &a) const {
    std::vector<float> values = evalSum(a);
    for (float &value : values)
      value *= 0.5f;
    return values;
  }
  std::vector<float> twice() const {
    std::vector<float> values(kN);
    for (int64_t i = 0; i < kN; ++i)
      values[i] = 2.0f * acc[i];
    return values;
  }
};

std::vector<float> trainA(int step) {
  std::vector<float> values(kN);
  for (int64_t i = 0; i < kN; ++i)
    values[i] = 0.5f * static_cast<float>(i) - 2.0f * static_cast<float>(step);
  return values;
}

std::vector<float> evalA(int run) {
  std::vector<float> values(kN);
  for (int64_t i = 0; i < kN; ++i)
    values[i] = 100.0f + static_cast<float>(i % 7) + static_cast<float>(run);
  return values;
}

HostTensor tensor(const std::vector<float> &values) { return HostTensor::f32({kN}, values); }

void expectValues(const HostTensor &actual, const std::vector<float> &expected,
                  const std::string &what) {
  ASSERT_EQ(actual.dtype(), DType::kF32) << what;
  ASSERT_EQ(actual.shape(), std::vector<int64_t>{kN}) << what;
  std::span<const float> values = actual.f32();
  for (int64_t i = 0; i < kN; ++i)
    ASSERT_FLOAT_EQ(values[i], expected[i]) << what << " element " << i;
}

void expectValues(const absl::StatusOr<HostTensor> &actual, const std::vector<float> &expected,
                  const std::string &what) {
  ASSERT_TRUE(actual.ok()) << what << ": " << actual.status();
  expectValues(*actual, expected, what);
}

std::vector<std::string> keys(const Inputs &tensors) {
  std::vector<std::string> names;
  for (const auto &[name, value] : tensors)
    names.push_back(name);
  return names;
}

class SessionProgramsTest : public ::testing::Test {
protected:
  void SetUp() override {
    KILN_REQUIRE_VULKAN();
    create(makeAccumulatePlanWithPrograms(kN));
  }
  void create(plan::Plan plan) {
    absl::StatusOr<std::unique_ptr<Session>> created =
        Session::create(std::move(plan), validatedOptions());
    ASSERT_TRUE(created.ok()) << created.status();
    session = *std::move(created);
  }
  void TearDown() override {
    if (session)
      expectNoValidationMessages(*session);
  }

  /// Runs "eval" on evalA(run) and checks both of its outputs against the model.
  void expectEval(int run, const std::string &when) {
    absl::StatusOr<Inputs> outputs = session->run("eval", {{"a", tensor(evalA(run))}});
    ASSERT_TRUE(outputs.ok()) << when << ": " << outputs.status();
    ASSERT_THAT(keys(*outputs), ElementsAre("out", "sum")) << when;
    expectValues(outputs->at("sum"), model.evalSum(evalA(run)), "eval sum " + when);
    expectValues(outputs->at("out"), model.evalOut(evalA(run)), "eval out " + when);
  }

  std::unique_ptr<Session> session;
  HostModel model;
};

TEST_F(SessionProgramsTest, EvalBeforeAnyStepSeesTheInitialVariables) {
  expectEval(0, "before any step");
  absl::StatusOr<Inputs> probe = session->run("probe", {});
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_THAT(keys(*probe), ElementsAre("twice"));
  expectValues(probe->at("twice"), model.twice(), "probe before any step");
}

TEST_F(SessionProgramsTest, InterleavedRunsSeeEveryEarlierStep) {
  // 7 steps and 4 runs: step, step, eval, step, probe, eval, step, step, step, eval, step. The
  // steps are not waited for, so each run must be ordered after the in-flight steps by its
  // leading barrier, and the next step after the run by its own.
  const std::string schedule = "ssespessses";
  std::vector<std::vector<float>> trainSums;
  int steps = 0, runs = 0;
  for (char action : schedule) {
    std::string when = "after " + std::to_string(steps) + " steps";
    if (action == 's') {
      ASSERT_TRUE(session->step({{"a", tensor(trainA(steps))}}).ok());
      model.step(trainA(steps));
      trainSums.push_back(model.sum);
      ++steps;
    } else if (action == 'e') {
      expectEval(runs++, when);
    } else {
      absl::StatusOr<Inputs> probe = session->run("probe", {});
      ASSERT_TRUE(probe.ok()) << probe.status();
      expectValues(probe->at("twice"), model.twice(), "probe " + when);
    }
  }
  // output() reads the step's own outputs, not eval's same-named ones, and eval changed no
  // variable.
  expectValues(session->output("out"), model.out, "train out of the last step");
  expectValues(session->output("sum", steps - 2), trainSums[steps - 2], "train sum, step 5");
  expectValues(session->output("sum", steps - 1), trainSums[steps - 1], "train sum, step 6");
  expectValues(session->variable("acc"), model.acc, "acc after the schedule");

  SessionStats stats = session->stats();
  EXPECT_EQ(stats.steps, 7u);
  EXPECT_EQ(stats.stepSubmits, 7u);
  EXPECT_EQ(stats.submitsPerStep, 1.0) << "program runs must not count as step submits";
  EXPECT_EQ(stats.dispatchesPerStep, 3.0);
  EXPECT_EQ(stats.programRuns, 4u);
  EXPECT_EQ(stats.recordedSteps, 2u);
  EXPECT_EQ(stats.recordedPrograms, 2u) << "each program is recorded once, never per run";
  EXPECT_THAT(toJson(stats), HasSubstr("\"program_runs\": 4,"));
  EXPECT_THAT(toJson(stats), HasSubstr("\"recorded_programs\": 2,"));
}

TEST_F(SessionProgramsTest, RunsCountNeitherAsStepsNorAsOtherSubmits) {
  uint64_t otherBefore = session->stats().otherSubmits;
  expectEval(0, "first run");
  expectEval(1, "second run");
  SessionStats stats = session->stats();
  EXPECT_EQ(stats.programRuns, 2u);
  EXPECT_EQ(stats.otherSubmits, otherBefore);
  EXPECT_EQ(stats.steps, 0u);
  EXPECT_EQ(stats.stepSubmits, 0u);
  EXPECT_EQ(stats.submitsPerStep, 0.0);
  EXPECT_EQ(session->stepsSubmitted(), 0u);
  EXPECT_THAT(session->programNames(), ElementsAre("eval", "probe"));
}

TEST_F(SessionProgramsTest, RunRejectsUnknownProgramsAndBadInputs) {
  absl::StatusOr<Inputs> unknown = session->run("test", {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("the plan has no program 'test'; its programs are: eval, probe"));
  absl::StatusOr<Inputs> train = session->run("train", {{"a", tensor(evalA(0))}});
  EXPECT_EQ(train.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(train.status().message()),
              HasSubstr("program 'train' is the training step; submit it with step()"));

  absl::StatusOr<Inputs> stepOnlyInput =
      session->run("eval", {{"a", tensor(evalA(0))}, {"b", tensor(evalA(0))}});
  EXPECT_EQ(stepOnlyInput.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(stepOnlyInput.status().message()),
              HasSubstr("program 'eval' was given unknown input 'b'; the inputs of program "
                        "'eval' are: a"));
  absl::StatusOr<Inputs> shape =
      session->run("eval", {{"a", HostTensor::f32({1}, std::vector<float>{1.0f})}});
  EXPECT_EQ(shape.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(shape.status().message()),
              HasSubstr("input 'a' expects f32[300] but got f32[1]"));
  absl::StatusOr<Inputs> missing = session->run("eval", {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("input 'a' was not given and has no default value; program 'eval' "
                        "reads it"));
  absl::StatusOr<Inputs> probeInput = session->run("probe", {{"a", tensor(evalA(0))}});
  EXPECT_THAT(std::string(probeInput.status().message()),
              HasSubstr("unknown input 'a'; the inputs of program 'probe' are: (none)"));
  EXPECT_EQ(session->stats().programRuns, 0u) << "nothing is submitted for a bad call";

  // A program's outputs are not the step's.
  ASSERT_TRUE(session->step({{"a", tensor(trainA(0))}}).ok());
  absl::StatusOr<HostTensor> twice = session->output("twice");
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(twice.status().message()),
              HasSubstr("the training step has no output 'twice'; its outputs are: out, sum "
                        "(other programs' outputs are returned by run())"));
  absl::Status evalOnlyInput = session->step({{"a", tensor(trainA(1))}, {"c", tensor(evalA(0))}});
  EXPECT_EQ(evalOnlyInput.code(), absl::StatusCode::kInvalidArgument);
  model.step(trainA(0));
  expectEval(0, "after the rejected calls");
}

TEST_F(SessionProgramsTest, LegacyStepListsWorkBesideAProgram) {
  plan::Plan plan = makeAccumulatePlanWithPrograms(kN);
  plan.mutable_step()->clear_name();
  plan.mutable_step()->clear_inputs();
  plan.mutable_step()->clear_outputs();
  create(std::move(plan));
  for (int step = 0; step < 3; ++step) {
    ASSERT_TRUE(session->step({{"a", tensor(trainA(step))}}).ok());
    model.step(trainA(step));
    expectEval(step, "legacy step " + std::to_string(step));
  }
  expectValues(session->output("sum"), model.sum, "legacy train sum");
  expectValues(session->output("out"), model.out, "legacy train out");
  absl::StatusOr<HostTensor> twice = session->output("twice");
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kNotFound)
      << "an output another program lists is not the legacy step's";
}

TEST(SessionProgramsSyncTest, MissingBarrierInsideAProgramIsReported) {
  KILN_REQUIRE_VULKAN();
  plan::Plan plan = makeAccumulatePlanWithPrograms(kN);
  auto *commands = plan.mutable_programs(0)->mutable_commands();
  ASSERT_TRUE(commands->Get(testing::kEvalBarrier).has_barrier());
  commands->erase(commands->begin() + testing::kEvalBarrier);
  EXPECT_THAT(Session::create(plan, validatedOptions()).status().message(),
              HasSubstr("memory plan: program 'eval' command 1 reads buffer 6 ('eval.sum')"));
  // The plan checker refuses it at load; skip it to show sync validation sees the hazard too.
  SessionOptions options = validatedOptions();
  options.skipMemoryPlanCheckForValidationTests = true;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(std::move(plan), options);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_THAT((*session)->validationMessages(),
              Contains(HasSubstr("SYNC-HAZARD-READ-AFTER-WRITE")));
}

} // namespace
} // namespace kiln::vulkan
