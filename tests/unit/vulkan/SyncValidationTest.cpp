//===- SyncValidationTest.cpp - The hazard detector itself is tested ------===//
//
// lavapipe computes the right answer even when a barrier is missing, so only
// synchronization validation can catch a compiler that forgets one. This test
// removes the barrier between two dependent dispatches and requires a
// SYNC-HAZARD-READ-AFTER-WRITE message (reported when the session records the
// step): if validation were silently off, the clean-run tests' "zero
// messages" would prove nothing. The plan checker refuses such a plan at load,
// so the test asks the session to skip it. The same holds for a barrier
// removed inside another program ("eval").
//
//===----------------------------------------------------------------------===//

#include "VulkanTestSupport.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::vulkan {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(SyncValidationTest, RemovedBarrierIsReportedAsReadAfterWrite) {
  KILN_REQUIRE_VULKAN();
  constexpr int64_t n = 256;
  plan::Plan plan = testing::makeAccumulatePlan(n);
  auto *commands = plan.mutable_step()->mutable_commands();
  ASSERT_TRUE(commands->Get(testing::kBarrierAfterFirstAdd).has_barrier());
  commands->erase(commands->begin() + testing::kBarrierAfterFirstAdd);

  absl::StatusOr<std::unique_ptr<Session>> refused =
      Session::create(plan, testing::validatedOptions());
  EXPECT_THAT(refused.status().message(), HasSubstr("with no barrier between them"));

  SessionOptions options = testing::validatedOptions();
  options.skipMemoryPlanCheckForValidationTests = true;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(std::move(plan), options);
  ASSERT_TRUE(session.ok()) << session.status();
  // The session records the step once per slot, and sync validation checks the recording.
  std::vector<std::string> messages = (*session)->validationMessages();
  EXPECT_THAT(messages, Contains(HasSubstr("SYNC-HAZARD-READ-AFTER-WRITE")));
  EXPECT_THAT(messages, Contains(HasSubstr("vkCmdDispatch: Hazard READ_AFTER_WRITE")));

  // lavapipe still computes the right sum: only validation can tell the barrier is missing.
  std::vector<float> a(n, 1.5f);
  ASSERT_TRUE((*session)->step({{"a", HostTensor::f32({n}, a)}}).ok());
  absl::StatusOr<HostTensor> sum = (*session)->output("sum");
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->f32()[5], 1.5f + testing::defaultB(n)[5]);
  EXPECT_NE((*session)->stats().deviceMember("validation_messages"), "0");
}

TEST(SyncValidationTest, MissingBarrierInsideAProgramIsReported) {
  KILN_REQUIRE_VULKAN();
  constexpr int64_t n = 300;
  plan::Plan plan = testing::makeAccumulatePlanWithPrograms(n);
  auto *commands = plan.mutable_programs(0)->mutable_commands();
  ASSERT_TRUE(commands->Get(testing::kEvalBarrier).has_barrier());
  commands->erase(commands->begin() + testing::kEvalBarrier);
  EXPECT_THAT(Session::create(plan, testing::validatedOptions()).status().message(),
              HasSubstr("memory plan: program 'eval' command 1 reads buffer 6 ('eval.sum')"));
  // The plan checker refuses it at load; skip it to show sync validation sees the hazard too.
  SessionOptions options = testing::validatedOptions();
  options.skipMemoryPlanCheckForValidationTests = true;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(std::move(plan), options);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_THAT((*session)->validationMessages(),
              Contains(HasSubstr("SYNC-HAZARD-READ-AFTER-WRITE")));
}

} // namespace
} // namespace kiln::vulkan
