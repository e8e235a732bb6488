//===- SessionErrorsTest.cpp - Plans a Vulkan session must refuse ---------===//

#include "VulkanTestSupport.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::vulkan {
namespace {

using ::testing::HasSubstr;
using testing::makeAccumulatePlan;
using testing::validatedOptions;

/// Creates a session for `plan` and returns the failure (the test fails if it succeeds).
absl::Status createFailure(plan::Plan plan) {
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::create(std::move(plan), validatedOptions());
  EXPECT_FALSE(session.ok()) << "session was created";
  return session.ok() ? absl::OkStatus() : session.status();
}

TEST(SessionErrorsTest, PlanForAnotherTarget) {
  KILN_REQUIRE_VULKAN();
  plan::Plan plan = makeAccumulatePlan(64);
  plan.mutable_metadata()->set_targets(0, plan::TARGET_CUDA);
  for (plan::Kernel &kernel : *plan.mutable_kernels()) {
    plan::PtxCode *code = kernel.add_ptx_code();
    code->set_arch("sm_80");
    code->set_ptx("// ptx");
  }
  absl::Status status = createFailure(plan);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("plan 'accumulate' was compiled for cuda, not vulkan; recompile with "
                        "--target=vulkan"));
}

TEST(SessionErrorsTest, InvalidPlan) {
  KILN_REQUIRE_VULKAN();
  plan::Plan plan = makeAccumulatePlan(64);
  plan.mutable_step()->mutable_commands(2)->mutable_dispatch()->set_kernel(7);
  absl::Status status = createFailure(plan);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("invalid plan: step command 2 (dispatch) names kernel 7"));
}

TEST(SessionErrorsTest, BufferLargerThanMaxStorageBufferRange) {
  KILN_REQUIRE_VULKAN();
  absl::StatusOr<std::shared_ptr<VulkanDevice>> device = VulkanDevice::create();
  ASSERT_TRUE(device.ok());
  uint64_t limit = (*device)->limits().maxStorageBufferRange;
  plan::Plan plan = makeAccumulatePlan(64);
  plan::Buffer *huge = plan.add_buffers();
  huge->set_name("fc1.weight");
  huge->set_size_bytes(limit + 4);
  huge->set_role(plan::BUFFER_ROLE_TRANSIENT);
  absl::Status status = createFailure(plan);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("buffer 6 ('fc1.weight') is " + std::to_string(limit + 4) + " bytes"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("per storage buffer (maxStorageBufferRange)"));
}

TEST(SessionErrorsTest, EntryPointMissingFromSpirv) {
  KILN_REQUIRE_VULKAN();
  plan::Plan plan = makeAccumulatePlan(64);
  plan.mutable_kernels(1)->set_entry_point("scale_main");
  absl::Status status = createFailure(plan);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("kernel 'scale': its SPIR-V has no compute entry point 'scale_main' (it "
                        "has: main)"));
}

TEST(SessionErrorsTest, WorkgroupSizeDisagreesWithSpirv) {
  KILN_REQUIRE_VULKAN();
  plan::Plan plan = makeAccumulatePlan(64);
  plan.mutable_kernels(0)->mutable_workgroup_size()->set_x(128);
  absl::Status status = createFailure(plan);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("kernel 'add' declares workgroup size 128x1x1 in the plan but its SPIR-V "
                        "says 64x1x1"));
}

TEST(SessionErrorsTest, LimitsOfTheDevice) {
  KILN_REQUIRE_VULKAN();
  absl::StatusOr<std::shared_ptr<VulkanDevice>> device = VulkanDevice::create();
  ASSERT_TRUE(device.ok());
  const VkPhysicalDeviceLimits &limits = (*device)->limits();

  plan::Plan push = makeAccumulatePlan(64);
  push.mutable_kernels(1)->set_push_constant_size(limits.maxPushConstantsSize + 4);
  EXPECT_THAT(std::string(createFailure(push).message()),
              HasSubstr("kernel 'scale' declares " +
                        std::to_string(limits.maxPushConstantsSize + 4) +
                        " bytes of push constants"));

  plan::Plan groups = makeAccumulatePlan(64);
  groups.mutable_step()->mutable_commands(4)->mutable_dispatch()->mutable_group_count()->set_y(
      limits.maxComputeWorkGroupCount[1] + 1);
  EXPECT_THAT(std::string(createFailure(groups).message()),
              HasSubstr("step command 4 dispatches " +
                        std::to_string(limits.maxComputeWorkGroupCount[1] + 1) +
                        " workgroups along y"));
}

} // namespace
} // namespace kiln::vulkan
