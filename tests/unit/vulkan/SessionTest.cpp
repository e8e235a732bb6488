//===- SessionTest.cpp - Running hand-built plans on a Vulkan device ------===//
//
// The accumulate plan (VulkanTestSupport.h) run for several steps with
// validation and synchronization validation on: results against host math,
// variables persisting, double-buffered outputs, one submit per step, and
// not a single validation message.
//
//===----------------------------------------------------------------------===//

#include "VulkanTestSupport.h"

#include "kiln/runtime/Initializer.h"
#include "kiln/runtime/PlanFile.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace kiln::vulkan {
namespace {

using testing::defaultB;
using testing::expectNoValidationMessages;
using ::testing::HasSubstr;
using testing::makeAccumulatePlan;
using testing::validatedOptions;

constexpr int64_t kN = 1000; // 16 workgroups of 64, the last one partial

using Inputs = std::map<std::string, HostTensor, std::less<>>;

/// The host's model of the accumulate plan.
struct HostModel {
  std::vector<float> acc;
  std::vector<float> sum, out;

  HostModel() : acc(kN) { fillInitializer(InitKind::kUniform, -1, 1, 7, 3, std::span<float>(acc)); }
  void step(const std::vector<float> &a, const std::vector<float> &b) {
    sum.resize(kN);
    out.resize(kN);
    for (int64_t i = 0; i < kN; ++i) {
      sum[i] = a[i] + b[i];
      out[i] = (sum[i] + acc[i]) * 0.5f;
    }
    acc = out;
  }
};

std::vector<float> inputA(int step) {
  std::vector<float> values(kN);
  for (int64_t i = 0; i < kN; ++i)
    values[i] = 0.25f * static_cast<float>(i) - 3.0f * static_cast<float>(step);
  return values;
}

HostTensor tensor(const std::vector<float> &values) { return HostTensor::f32({kN}, values); }

void expectValues(const absl::StatusOr<HostTensor> &actual, const std::vector<float> &expected,
                  const std::string &what) {
  ASSERT_TRUE(actual.ok()) << what << ": " << actual.status();
  ASSERT_EQ(actual->dtype(), DType::kF32);
  ASSERT_EQ(actual->shape(), std::vector<int64_t>{kN});
  std::span<const float> values = actual->f32();
  for (int64_t i = 0; i < kN; ++i)
    ASSERT_FLOAT_EQ(values[i], expected[i]) << what << " element " << i;
}

class SessionTest : public ::testing::Test {
protected:
  void SetUp() override {
    KILN_REQUIRE_VULKAN();
    absl::StatusOr<std::unique_ptr<Session>> created =
        Session::create(makeAccumulatePlan(kN), validatedOptions());
    ASSERT_TRUE(created.ok()) << created.status();
    session = *std::move(created);
  }
  void TearDown() override {
    if (session)
      expectNoValidationMessages(*session);
  }

  std::unique_ptr<Session> session;
  HostModel model;
};

TEST_F(SessionTest, VariablesStartFromTheirInitializer) {
  expectValues(session->variable("acc"), model.acc, "initial acc");
}

TEST_F(SessionTest, StepsMatchHostMathAndVariablesPersist) {
  for (int step = 0; step < 6; ++step) {
    std::vector<float> a = inputA(step);
    std::vector<float> b = step % 2 ? defaultB(kN) : inputA(step + 100);
    Inputs inputs = {{"a", tensor(a)}};
    if (step % 2 == 0)
      inputs.emplace("b", tensor(b));
    ASSERT_TRUE(session->step(inputs).ok());
    model.step(a, b);
    std::string label = "step " + std::to_string(step);
    expectValues(session->output("sum"), model.sum, label + " sum");
    expectValues(session->output("out"), model.out, label + " out");
  }
  expectValues(session->variable("acc"), model.acc, "acc after 6 steps");

  SessionStats stats = session->stats();
  EXPECT_EQ(stats.steps, 6u);
  EXPECT_EQ(stats.stepSubmits, 6u);
  EXPECT_EQ(stats.submitsPerStep, 1.0);
  EXPECT_EQ(stats.dispatchesPerStep, 3.0);
  EXPECT_EQ(stats.kernels, 2u);
  EXPECT_EQ(stats.recordedSteps, 2u) << "the step is recorded once per slot, never per step";
  EXPECT_EQ(stats.persistentBytes, 4u * kN);
  EXPECT_EQ(stats.transientBytes, 4u * kN);
  EXPECT_EQ(stats.ioBytes, 4u * 4 * kN);
  EXPECT_GE(stats.deviceMemoryBytes, 6u * 4 * kN);
  EXPECT_EQ(stats.timedSteps, 6u);
  EXPECT_GT(stats.stepSeconds, 0.0);
  if (session->device().supportsTimestamps()) {
    ASSERT_TRUE(stats.gpuStepSeconds.has_value());
    EXPECT_GT(*stats.gpuStepSeconds, 0.0);
  }
}

TEST_F(SessionTest, OutputsOfStepNAreReadWhileStepNPlusOneIsStaged) {
  // Pipelined loop: submit step k, then read step k-1, which lives in the other slot.
  std::vector<std::vector<float>> expectedOut;
  for (int step = 0; step < 8; ++step) {
    std::vector<float> a = inputA(step);
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
  EXPECT_THAT(std::string(future.status().message()),
              HasSubstr("of step 8 requested but only 8 steps were submitted"));
  EXPECT_EQ(session->stats().submitsPerStep, 1.0);
}

TEST_F(SessionTest, SetVariableReplacesStateBetweenSteps) {
  std::vector<float> zeros(kN, 0.0f);
  ASSERT_TRUE(session->setVariable("acc", tensor(zeros)).ok());
  model.acc = zeros;
  expectValues(session->variable("acc"), zeros, "acc after setVariable");
  std::vector<float> a = inputA(1);
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

TEST_F(SessionTest, BadInputsAreRejectedBeforeAnythingIsSubmitted) {
  absl::Status unknown = session->step({{"a", tensor(inputA(0))}, {"c", tensor(inputA(0))}});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(unknown.message()),
      HasSubstr("step was given unknown input 'c'; the inputs of program 'train' are: a, b"));
  absl::Status shape = session->step({{"a", HostTensor::f32({2, 500}, inputA(0))}});
  EXPECT_THAT(std::string(shape.message()),
              HasSubstr("input 'a' expects f32[1000] but got f32[2x500]"));
  absl::Status dtype = session->step({{"a", HostTensor(DType::kI32, {kN})}});
  EXPECT_THAT(std::string(dtype.message()), HasSubstr("input 'a' expects f32[1000] but got i32"));
  absl::Status missing = session->step({{"b", tensor(inputA(0))}});
  EXPECT_THAT(std::string(missing.message()),
              HasSubstr("input 'a' was not given and has no default value"));
  EXPECT_EQ(session->stepsSubmitted(), 0u);
  absl::StatusOr<HostTensor> early = session->output("out");
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);

  // f64 inputs are converted; the variable is untouched by the failed calls.
  std::vector<double> a(kN);
  for (int64_t i = 0; i < kN; ++i)
    a[i] = inputA(0)[i];
  ASSERT_TRUE(session->step({{"a", HostTensor::f64({kN}, a)}}).ok());
  model.step(inputA(0), defaultB(kN));
  expectValues(session->output("out"), model.out, "out from f64 input");
  absl::StatusOr<HostTensor> unknownOutput = session->output("loss");
  EXPECT_EQ(unknownOutput.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknownOutput.status().message()),
              HasSubstr("no output 'loss'; its outputs are: out, sum"));
}

TEST_F(SessionTest, StatsJsonHasTheMeasuredCounters) {
  for (int step = 0; step < 3; ++step)
    ASSERT_TRUE(session->step({{"a", tensor(inputA(step))}}).ok());
  ASSERT_TRUE(session->synchronize().ok());
  std::string path = (std::filesystem::path(::testing::TempDir()) / "stats.json").string();
  ASSERT_TRUE(session->writeStatsJson(path).ok());
  std::ifstream in(path);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(json, HasSubstr("\"steps\": 3,"));
  EXPECT_THAT(json, HasSubstr("\"submits_per_step\": 1,"));
  EXPECT_THAT(json, HasSubstr("\"dispatches_per_step\": 3,"));
  EXPECT_THAT(json, HasSubstr("\"kernels\": 2,"));
  EXPECT_THAT(json, HasSubstr("\"timed_steps\": 3,"));
  // An unplanned plan: no arena; the test kernels each implement one op.
  EXPECT_THAT(json, HasSubstr("\"arena_bytes\": 0,"));
  EXPECT_THAT(json, HasSubstr("\"peak_live_bytes\": 0,"));
  EXPECT_THAT(json, HasSubstr("\"naive_bytes\": 0,"));
  EXPECT_THAT(json, HasSubstr("\"fused_kernels\": 0,"));
  EXPECT_THAT(json, HasSubstr("\"validation_messages\": 0"));
  EXPECT_THAT(json, HasSubstr("\"device_name\": \"" + session->device().info().name + "\""));
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.substr(json.size() - 2), "}\n");
}

TEST(SessionFromFileTest, PlanWrittenToDiskRunsAfterLoading) {
  KILN_REQUIRE_VULKAN();
  std::string path = (std::filesystem::path(::testing::TempDir()) / "accumulate.kplan").string();
  ASSERT_TRUE(plan::writePlanFile(makeAccumulatePlan(kN), path).ok());
  absl::StatusOr<plan::Plan> loaded = plan::readPlanFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::create(*std::move(loaded), validatedOptions());
  ASSERT_TRUE(session.ok()) << session.status();
  HostModel model;
  ASSERT_TRUE((*session)->step({{"a", tensor(inputA(4))}}).ok());
  model.step(inputA(4), defaultB(kN));
  expectValues((*session)->output("out"), model.out, "out from a loaded plan");
  expectNoValidationMessages(**session);
}

TEST(SessionConstantsTest, ConstantsAndIntegerVariablesAreUploaded) {
  KILN_REQUIRE_VULKAN();
  // y = x + table, with table a constant buffer; plus an i32 variable initialised to 3.
  plan::Plan plan = makeAccumulatePlan(kN);
  std::vector<float> table(kN);
  for (int64_t i = 0; i < kN; ++i)
    table[i] = 1000.0f - static_cast<float>(i);
  plan::Buffer *constant = plan.add_buffers();
  constant->set_name("table");
  constant->set_size_bytes(4 * kN);
  constant->set_role(plan::BUFFER_ROLE_CONSTANT);
  constant->set_constant_data(std::string(reinterpret_cast<const char *>(table.data()), 4 * kN));
  uint32_t tableIndex = plan.buffers_size() - 1;
  plan.mutable_step()->mutable_commands(0)->mutable_dispatch()->set_buffers(1, tableIndex);
  plan::Buffer *counter = plan.add_buffers();
  counter->set_name("counter");
  counter->set_size_bytes(4);
  counter->set_role(plan::BUFFER_ROLE_VARIABLE);
  plan::Variable *variable = plan.add_variables();
  variable->mutable_tensor()->set_name("counter");
  variable->mutable_tensor()->set_dtype(plan::DTYPE_I32);
  variable->mutable_tensor()->set_buffer(plan.buffers_size() - 1);
  variable->mutable_initializer()->set_a(3);

  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::create(std::move(plan), validatedOptions());
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->step({{"a", tensor(inputA(2))}}).ok());
  std::vector<float> expected(kN);
  for (int64_t i = 0; i < kN; ++i)
    expected[i] = inputA(2)[i] + table[i];
  expectValues((*session)->output("sum"), expected, "a + table");
  absl::StatusOr<HostTensor> counterValue = (*session)->variable("counter");
  ASSERT_TRUE(counterValue.ok()) << counterValue.status();
  EXPECT_EQ(counterValue->describe(), "i32[]");
  EXPECT_EQ(counterValue->i32()[0], 3);
  expectNoValidationMessages(**session);
}

} // namespace
} // namespace kiln::vulkan
