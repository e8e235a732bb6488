//===- SessionTest.cpp - What only a Vulkan session reports ---------------===//
//
// The session core's behaviour on every device is the conformance suite's
// (tests/unit/conformance). These tests keep what the hand-built accumulate
// plan (VulkanTestSupport.h) proves about the Vulkan device itself: the
// memory it allocated and the timestamps it measured, the validation count
// in the stats JSON, and constants and integer variables uploaded by the
// initial transfer, all with validation and synchronization validation on.
//
//===----------------------------------------------------------------------===//

#include "VulkanTestSupport.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::vulkan {
namespace {

using testing::expectNoValidationMessages;
using ::testing::HasSubstr;
using testing::makeAccumulatePlan;
using testing::validatedOptions;

constexpr int64_t kN = 1000;

std::vector<float> inputA(int step) {
  std::vector<float> values(kN);
  for (int64_t i = 0; i < kN; ++i)
    values[i] = 0.25f * static_cast<float>(i) - 3.0f * static_cast<float>(step);
  return values;
}

HostTensor tensor(const std::vector<float> &values) { return HostTensor::f32({kN}, values); }

TEST(SessionStatsTest, MemoryAndTimestampsOfTheDevice) {
  KILN_REQUIRE_VULKAN();
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::create(makeAccumulatePlan(kN), validatedOptions());
  ASSERT_TRUE(session.ok()) << session.status();
  for (int step = 0; step < 4; ++step)
    ASSERT_TRUE((*session)->step({{"a", tensor(inputA(step))}}).ok());
  ASSERT_TRUE((*session)->synchronize().ok());
  SessionStats stats = (*session)->stats();
  EXPECT_EQ(stats.dispatchesPerStep, 3.0);
  EXPECT_EQ(stats.kernels, 2u);
  EXPECT_EQ(stats.persistentBytes, 4u * kN);
  EXPECT_EQ(stats.transientBytes, 4u * kN);
  EXPECT_EQ(stats.ioBytes, 4u * 4 * kN);
  // Six plan buffers plus the staging and readback of both step slots.
  EXPECT_GE(stats.deviceMemoryBytes, 6u * 4 * kN + stats.stagingBytes);
  EXPECT_EQ(stats.deviceType, deviceTypeName((*session)->device().info().type));
  if ((*session)->device().supportsTimestamps()) {
    ASSERT_TRUE(stats.gpuStepSeconds.has_value());
    EXPECT_GT(*stats.gpuStepSeconds, 0.0);
  }
  std::string json = toJson(stats);
  EXPECT_THAT(json, HasSubstr("\"validation_messages\": 0"));
  EXPECT_THAT(json, HasSubstr("\"device_name\": \"" + (*session)->device().info().name + "\""));
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
  absl::StatusOr<HostTensor> sum = (*session)->output("sum");
  ASSERT_TRUE(sum.ok()) << sum.status();
  for (int64_t i = 0; i < kN; ++i)
    ASSERT_FLOAT_EQ(sum->f32()[i], inputA(2)[i] + table[i]) << "a + table, element " << i;
  absl::StatusOr<HostTensor> counterValue = (*session)->variable("counter");
  ASSERT_TRUE(counterValue.ok()) << counterValue.status();
  EXPECT_EQ(counterValue->describe(), "i32[]");
  EXPECT_EQ(counterValue->i32()[0], 3);
  expectNoValidationMessages(**session);
}

} // namespace
} // namespace kiln::vulkan
