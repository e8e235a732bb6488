//===- SessionArenaTest.cpp - Running memory-planned plans on Vulkan ------===//
//
// A plan whose transients share the arena must compute exactly what the same
// plan computes with every buffer on its own, with sync validation clean.
//
//===----------------------------------------------------------------------===//

#include "VulkanTestSupport.h"

#include "kiln/Memory/MemoryPlanner.h"
#include "kiln/runtime/PlanChecker.h"
#include "kiln/runtime/PlanValidation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace kiln::vulkan {
namespace {

using testing::expectNoValidationMessages;
using ::testing::HasSubstr;
using testing::validatedOptions;

constexpr int64_t kN = 1000;

void dispatch(plan::Step &step, uint32_t kernel, std::vector<uint32_t> buffers,
              std::string pushConstants = "") {
  step.add_commands()->mutable_barrier();
  plan::Dispatch *command = step.add_commands()->mutable_dispatch();
  command->set_kernel(kernel);
  for (uint32_t buffer : buffers)
    command->add_buffers(buffer);
  command->set_push_constants(std::move(pushConstants));
  command->mutable_group_count()->set_x((kN + 63) / 64);
  command->mutable_group_count()->set_y(1);
  command->mutable_group_count()->set_z(1);
}

/// t1 = a + b; t2 = t1 + a; t3 = t2 + b; sum = t3 + acc; next = t2 + t3; out = next / 2;
/// acc = out. t3 can take t1's bytes; the unplanned plan has a barrier before every command.
plan::Plan makeChainPlan() {
  using namespace testing;
  plan::Plan plan = makeAccumulatePlan(kN);
  uint32_t first = plan.buffers_size();
  for (const char *name : {"t1", "t2", "t3"}) {
    plan::Buffer *buffer = plan.add_buffers();
    buffer->set_name(name);
    buffer->set_size_bytes(4 * kN);
    buffer->set_role(plan::BUFFER_ROLE_TRANSIENT);
  }
  uint32_t t1 = first, t2 = first + 1, t3 = first + 2;
  plan::Step &step = *plan.mutable_step();
  step.clear_commands();
  float half = 0.5f;
  std::string halfBytes(reinterpret_cast<const char *>(&half), 4);
  dispatch(step, 0, {kA, kB, t1});
  dispatch(step, 0, {t1, kA, t2});
  dispatch(step, 0, {t2, kB, t3});
  dispatch(step, 0, {t3, kAccumulator, kSum});
  dispatch(step, 0, {t2, t3, kNext});
  dispatch(step, 1, {kNext, kOut}, halfBytes);
  step.add_commands()->mutable_barrier();
  plan::Copy *copy = step.add_commands()->mutable_copy();
  copy->set_src_buffer(kOut);
  copy->set_dst_buffer(kAccumulator);
  copy->set_size_bytes(4 * kN);
  step.mutable_commands()->DeleteSubrange(0, 1); // no barrier before the first command
  return plan;
}

std::vector<std::string> runSteps(plan::Plan plan, std::vector<uint64_t> *arenaBytes = nullptr) {
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::create(std::move(plan), validatedOptions());
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok())
    return {};
  std::vector<std::string> results;
  for (int step = 0; step < 3; ++step) {
    std::vector<float> a(kN);
    for (int64_t i = 0; i < kN; ++i)
      a[i] = 0.5f * static_cast<float>(i) - static_cast<float>(step);
    EXPECT_TRUE((*session)->step({{"a", HostTensor::f32({kN}, a)}}).ok());
    for (const char *name : {"sum", "out"}) {
      absl::StatusOr<HostTensor> value = (*session)->output(name);
      EXPECT_TRUE(value.ok()) << value.status();
      if (value.ok())
        results.emplace_back(reinterpret_cast<const char *>(value->bytes().data()),
                             value->sizeInBytes());
    }
  }
  absl::StatusOr<HostTensor> acc = (*session)->variable("acc");
  EXPECT_TRUE(acc.ok()) << acc.status();
  if (acc.ok())
    results.emplace_back(reinterpret_cast<const char *>(acc->bytes().data()), acc->sizeInBytes());
  if (arenaBytes) {
    SessionStats stats = (*session)->stats();
    *arenaBytes = {stats.arenaBytes, stats.peakLiveBytes, stats.naiveBytes};
    EXPECT_THAT(toJson(stats), HasSubstr("\"arena_bytes\": " + std::to_string(stats.arenaBytes)));
  }
  expectNoValidationMessages(**session);
  return results;
}

TEST(SessionArena, PlannedPlanGivesBitIdenticalResults) {
  KILN_REQUIRE_VULKAN();
  plan::Plan plain = makeChainPlan();
  ASSERT_TRUE(plan::validatePlan(plain).ok()) << plan::validatePlan(plain);
  plan::Plan planned = plain;
  absl::StatusOr<plan::MemorySummary> summary = memory::planMemory(planned);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(plan::checkPlanMemory(planned).ok()) << plan::checkPlanMemory(planned);
  EXPECT_LT(summary->arena_bytes(), summary->naive_bytes());
  EXPECT_EQ(planned.buffers(testing::kOut + 3).arena_offset(),
            planned.buffers(testing::kOut + 1).arena_offset())
      << "t3 reuses t1's bytes";

  std::vector<std::string> expected = runSteps(plain);
  std::vector<uint64_t> memoryStats;
  std::vector<std::string> actual = runSteps(planned, &memoryStats);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t index = 0; index < expected.size(); ++index)
    EXPECT_TRUE(actual[index] == expected[index]) << "result " << index << " differs";
  EXPECT_THAT(memoryStats,
              ::testing::ElementsAre(summary->arena_bytes(), summary->peak_live_bytes(),
                                     summary->naive_bytes()));
}

TEST(SessionArena, SyncValidationSeesHazardsInsideTheArena) {
  KILN_REQUIRE_VULKAN();
  plan::Plan planned = makeChainPlan();
  ASSERT_TRUE(memory::planMemory(planned).ok());
  // Drop the barrier before t3 = t2 + b: a read-after-write on t2 within the arena.
  plan::Step &step = *planned.mutable_step();
  int barrier = -1;
  for (int index = 0, dispatches = 0; index < step.commands_size(); ++index) {
    dispatches += step.commands(index).has_dispatch();
    if (dispatches == 2 && step.commands(index).has_barrier()) {
      barrier = index;
      break;
    }
  }
  ASSERT_GE(barrier, 0);
  step.mutable_commands()->DeleteSubrange(barrier, 1);
  EXPECT_FALSE(plan::checkPlanMemory(planned).ok());
  EXPECT_THAT(Session::create(planned, validatedOptions()).status().message(),
              HasSubstr("with no barrier between them"));
  SessionOptions options = validatedOptions();
  options.skipMemoryPlanCheckForValidationTests = true; // to show sync validation sees it
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(std::move(planned), options);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->step({{"a", HostTensor::f32({kN}, std::vector<float>(kN, 1.0f))}}).ok());
  ASSERT_TRUE((*session)->synchronize().ok());
  std::vector<std::string> messages = (*session)->validationMessages();
  ASSERT_FALSE(messages.empty());
  EXPECT_THAT(messages.front(), HasSubstr("SYNC-HAZARD"));
}

TEST(SessionArena, RejectsAlignmentBelowTheDevicesOffsetAlignment) {
  KILN_REQUIRE_VULKAN();
  plan::Plan planned = makeChainPlan();
  memory::MemoryPlanOptions options;
  options.alignment = 4;
  ASSERT_TRUE(memory::planMemory(planned, options).ok());
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::create(std::move(planned), validatedOptions());
  if (session.ok()) {
    uint64_t required = (*session)->device().limits().minStorageBufferOffsetAlignment;
    ASSERT_LE(required, 4u) << "the session accepted an arena aligned below the device's needs";
    GTEST_SKIP() << "this device accepts 4-byte storage-buffer offsets";
  }
  EXPECT_THAT(session.status().message(), HasSubstr("minStorageBufferOffsetAlignment"));
  EXPECT_THAT(session.status().message(), HasSubstr("aligns buffers to 4 bytes"));
}

} // namespace
} // namespace kiln::vulkan
