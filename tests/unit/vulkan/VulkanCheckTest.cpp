//===- VulkanCheckTest.cpp - VkResult failures become specific Statuses ---===//

#include "kiln/runtime/vulkan/VulkanCheck.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::vulkan {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

VkResult fakeAllocate(VkResult result, int *calls) {
  ++*calls;
  return result;
}

absl::Status allocateWith(VkResult result, int *calls, bool *activityEvaluated) {
  KILN_VK_CHECK(fakeAllocate(result, calls),
                (*activityEvaluated = true, "allocating buffer 'fc1.weight' (401408 bytes)"));
  return absl::OkStatus();
}

TEST(VulkanCheckTest, SuccessEvaluatesTheCallOnceAndNotTheActivity) {
  int calls = 0;
  bool activityEvaluated = false;
  EXPECT_TRUE(allocateWith(VK_SUCCESS, &calls, &activityEvaluated).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(activityEvaluated);
}

TEST(VulkanCheckTest, FailureNamesCallResultActivityAndLine) {
  int calls = 0;
  bool activityEvaluated = false;
  absl::Status status = allocateWith(VK_ERROR_OUT_OF_DEVICE_MEMORY, &calls, &activityEvaluated);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()),
              MatchesRegex("fakeAllocate failed with VK_ERROR_OUT_OF_DEVICE_MEMORY while "
                           "allocating buffer 'fc1.weight' \\(401408 bytes\\) \\[.*"
                           "VulkanCheckTest.cpp:[0-9]+\\]"));
}

TEST(VulkanCheckTest, ResultsMapToStatusCodes) {
  EXPECT_EQ(vulkanError(VK_ERROR_DEVICE_LOST, "vkQueueSubmit(q, 1, &s, f)", "submitting step 3",
                        "runtime/vulkan/Session.cpp", 7)
                .code(),
            absl::StatusCode::kUnavailable);
  absl::Status lost = vulkanError(VK_ERROR_DEVICE_LOST, "vkQueueSubmit(q, 1, &s, f)",
                                  "submitting step 3", "/src/runtime/vulkan/Session.cpp", 7);
  EXPECT_THAT(std::string(lost.message()),
              HasSubstr("vkQueueSubmit failed with VK_ERROR_DEVICE_LOST while submitting step 3 "
                        "[runtime/vulkan/Session.cpp:7]; the device was lost"));
  EXPECT_EQ(vulkanError(VK_ERROR_FEATURE_NOT_PRESENT, "vkCreateDevice()", "x", "f", 1).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(vulkanError(VK_ERROR_UNKNOWN, "vkCreateDevice()", "x", "f", 1).code(),
            absl::StatusCode::kInternal);
  EXPECT_THAT(
      std::string(vulkanError(static_cast<VkResult>(-12345), "vkFoo()", "x", "f", 1).message()),
      HasSubstr("vkFoo failed with VkResult(-12345)"));
  EXPECT_STREQ(resultName(VK_ERROR_OUT_OF_HOST_MEMORY), "VK_ERROR_OUT_OF_HOST_MEMORY");
}

} // namespace
} // namespace kiln::vulkan
