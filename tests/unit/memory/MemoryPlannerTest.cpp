//===- MemoryPlannerTest.cpp - The planner and checker on hand-built plans ===//

#include "HandPlans.h"

#include "kiln/Memory/MemoryPlanner.h"
#include "kiln/runtime/PlanChecker.h"
#include "kiln/runtime/PlanValidation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::memory_test {
namespace {

using memory::MemoryPlanOptions;
using memory::planMemory;
using plan::BUFFER_ROLE_INPUT;
using plan::BUFFER_ROLE_OUTPUT;
using plan::BUFFER_ROLE_TRANSIENT;
using plan::BUFFER_ROLE_VARIABLE;
using ::testing::HasSubstr;

int countCommands(const plan::Step &step, plan::Command::KindCase kind) {
  int count = 0;
  for (const plan::Command &command : step.commands())
    count += command.kind_case() == kind;
  return count;
}

/// Plans `plan`, then requires validatePlan and checkPlanMemory to accept the result.
plan::MemorySummary planAndCheck(plan::Plan &plan, const MemoryPlanOptions &options = {}) {
  EXPECT_TRUE(plan::validatePlan(plan).ok()) << plan::validatePlan(plan);
  absl::StatusOr<plan::MemorySummary> summary = planMemory(plan, options);
  EXPECT_TRUE(summary.ok()) << summary.status();
  EXPECT_TRUE(plan::validatePlan(plan).ok()) << plan::validatePlan(plan);
  EXPECT_TRUE(plan::checkPlanMemory(plan).ok()) << plan::checkPlanMemory(plan);
  return summary.ok() ? *summary : plan::MemorySummary();
}

/// w' = sgd(w, g); w = w'. `inPlace` lists sgd's (output 0, input 1) pair.
HandPlan sgdPlan(bool inPlace) {
  HandPlan hand;
  hand.kernel("sgd", 3,
              inPlace ? std::vector<std::pair<uint32_t, uint32_t>>{{0, 1}}
                      : std::vector<std::pair<uint32_t, uint32_t>>{});
  uint32_t weight = hand.buffer("w", BUFFER_ROLE_VARIABLE);
  uint32_t gradient = hand.buffer("g", BUFFER_ROLE_INPUT);
  uint32_t next = hand.buffer("w.next", BUFFER_ROLE_TRANSIENT);
  hand.dispatch(0, {next, weight, gradient});
  hand.barrier();
  hand.copy(next, weight);
  return hand;
}

TEST(CopyElision, UpdatesVariableInPlaceWhenKernelDeclaresThePair) {
  HandPlan hand = sgdPlan(/*inPlace=*/true);
  plan::MemorySummary summary = planAndCheck(hand.plan());
  EXPECT_EQ(summary.elided_copies(), 1u);
  const plan::Plan &plan = hand.plan();
  ASSERT_EQ(plan.buffers_size(), 2); // w.next erased
  EXPECT_EQ(plan.step().commands_size(), 1);
  EXPECT_THAT(plan.step().commands(0).dispatch().buffers(), ::testing::ElementsAre(0, 0, 1));
  EXPECT_EQ(plan.variables(0).tensor().buffer(), 0u);
  EXPECT_EQ(plan.inputs(0).tensor().buffer(), 1u);
  EXPECT_EQ(summary.naive_bytes(), 64u);
  EXPECT_EQ(summary.arena_bytes(), 0u);
}

TEST(CopyElision, KeepsCopyWithoutInPlacePair) {
  HandPlan hand = sgdPlan(/*inPlace=*/false);
  plan::MemorySummary summary = planAndCheck(hand.plan());
  EXPECT_EQ(summary.elided_copies(), 0u);
  EXPECT_EQ(countCommands(hand.plan().step(), plan::Command::kCopy), 1);
  EXPECT_EQ(countCommands(hand.plan().step(), plan::Command::kBarrier), 1);
}

TEST(CopyElision, DisabledByOption) {
  HandPlan hand = sgdPlan(/*inPlace=*/true);
  MemoryPlanOptions options;
  options.elideCopies = false;
  EXPECT_EQ(planAndCheck(hand.plan(), options).elided_copies(), 0u);
  EXPECT_EQ(countCommands(hand.plan().step(), plan::Command::kCopy), 1);
}

TEST(CopyElision, KeepsCopyWhenVariableIsReadBetween) {
  HandPlan hand;
  hand.kernel("sgd", 3, {{0, 1}});
  hand.kernel("norm", 2);
  uint32_t weight = hand.buffer("w", BUFFER_ROLE_VARIABLE);
  uint32_t gradient = hand.buffer("g", BUFFER_ROLE_INPUT);
  uint32_t next = hand.buffer("w.next", BUFFER_ROLE_TRANSIENT);
  uint32_t norm = hand.buffer("norm", BUFFER_ROLE_OUTPUT);
  hand.dispatch(0, {next, weight, gradient});
  hand.dispatch(1, {norm, weight}); // reads the old w after the update
  hand.barrier();
  hand.copy(next, weight);
  EXPECT_EQ(planAndCheck(hand.plan()).elided_copies(), 0u);
}

TEST(CopyElision, KeepsCopyWhenSourceHasTwoWriters) {
  HandPlan hand;
  hand.kernel("sgd", 3, {{0, 1}});
  uint32_t weight = hand.buffer("w", BUFFER_ROLE_VARIABLE);
  uint32_t gradient = hand.buffer("g", BUFFER_ROLE_INPUT);
  uint32_t next = hand.buffer("w.next", BUFFER_ROLE_TRANSIENT);
  hand.dispatch(0, {next, weight, gradient});
  hand.barrier();
  hand.dispatch(0, {next, weight, gradient});
  hand.barrier();
  hand.copy(next, weight);
  EXPECT_EQ(planAndCheck(hand.plan()).elided_copies(), 0u);
}

TEST(CopyElision, KeepsCopyWhenSourceIsUsedByAnotherProgram) {
  HandPlan hand = sgdPlan(/*inPlace=*/true);
  uint32_t unary = hand.kernel("f", 2);
  uint32_t gradient = 1, next = 2;
  hand.dispatch(unary, {next, gradient}, "eval"); // eval's own use of w.next
  plan::Plan &plan = hand.plan();
  ASSERT_TRUE(plan::validatePlan(plan).ok()) << plan::validatePlan(plan);
  absl::StatusOr<plan::MemorySummary> summary = planMemory(plan);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->elided_copies(), 0u);
  EXPECT_TRUE(plan::checkPlanMemory(plan).ok()) << plan::checkPlanMemory(plan);
}

/// x (input) -> a = f(x) -> b = relu(a) (in place) -> out = f(b).
TEST(InPlaceReuse, OutputTakesTheDyingInputsBytes) {
  HandPlan hand;
  uint32_t unary = hand.kernel("f", 2);
  uint32_t relu = hand.kernel("relu", 2, {{0, 1}});
  uint32_t x = hand.buffer("x", BUFFER_ROLE_INPUT);
  uint32_t a = hand.buffer("a", BUFFER_ROLE_TRANSIENT);
  uint32_t b = hand.buffer("b", BUFFER_ROLE_TRANSIENT);
  uint32_t out = hand.buffer("out", BUFFER_ROLE_OUTPUT);
  hand.dispatch(unary, {a, x});
  hand.barrier();
  hand.dispatch(relu, {b, a});
  hand.barrier();
  hand.dispatch(unary, {out, b});
  plan::MemorySummary summary = planAndCheck(hand.plan());
  EXPECT_EQ(summary.in_place_reuses(), 1u);
  EXPECT_EQ(hand.plan().buffers(a).arena_offset(), hand.plan().buffers(b).arena_offset());
  EXPECT_EQ(summary.arena_bytes(), 256u);
  EXPECT_EQ(summary.peak_live_bytes(), 256u);

  MemoryPlanOptions options;
  options.reuseInPlace = false;
  HandPlan again;
  again.kernel("f", 2);
  again.kernel("relu", 2, {{0, 1}});
  again.buffer("x", BUFFER_ROLE_INPUT);
  again.buffer("a", BUFFER_ROLE_TRANSIENT);
  again.buffer("b", BUFFER_ROLE_TRANSIENT);
  again.buffer("out", BUFFER_ROLE_OUTPUT);
  again.dispatch(unary, {a, x});
  again.dispatch(relu, {b, a});
  again.dispatch(unary, {out, b});
  plan::MemorySummary separate = planAndCheck(again.plan(), options);
  EXPECT_EQ(separate.in_place_reuses(), 0u);
  EXPECT_EQ(separate.arena_bytes(), 512u);
}

/// A chain t1 = f(x), t2 = f(t1), ... needs two blocks however long it is.
TEST(ArenaAllocation, ChainPingPongsBetweenTwoBlocks) {
  HandPlan hand;
  uint32_t unary = hand.kernel("f", 2);
  uint32_t previous = hand.buffer("x", BUFFER_ROLE_INPUT, 100);
  for (int index = 0; index < 8; ++index) {
    uint32_t next = hand.buffer("t" + std::to_string(index), BUFFER_ROLE_TRANSIENT, 100);
    hand.dispatch(unary, {next, previous});
    hand.barrier();
    previous = next;
  }
  uint32_t out = hand.buffer("out", BUFFER_ROLE_OUTPUT, 100);
  hand.dispatch(unary, {out, previous});
  plan::MemorySummary summary = planAndCheck(hand.plan());
  EXPECT_EQ(summary.naive_bytes(), 8u * 400);
  EXPECT_EQ(summary.peak_live_bytes(), 2u * 512);
  EXPECT_EQ(summary.arena_bytes(), 2u * 512);
  EXPECT_EQ(summary.alignment(), 256u);
  for (const plan::Buffer &buffer : hand.plan().buffers())
    EXPECT_EQ(buffer.in_arena(), buffer.role() == BUFFER_ROLE_TRANSIENT) << buffer.name();
}

/// a = f(x); b = f(x); out1 = f(a); c = f(x); out2 = g(b, c). c reuses a's bytes, so writing
/// c after the read of a is a write-after-read hazard that only the memory plan creates.
struct AliasedPlan {
  HandPlan hand;
  uint32_t a, b, c;
};

AliasedPlan aliasedPlan() {
  AliasedPlan aliased;
  HandPlan &hand = aliased.hand;
  uint32_t unary = hand.kernel("f", 2);
  uint32_t binary = hand.kernel("g", 3);
  uint32_t x = hand.buffer("x", BUFFER_ROLE_INPUT);
  aliased.a = hand.buffer("a", BUFFER_ROLE_TRANSIENT);
  aliased.b = hand.buffer("b", BUFFER_ROLE_TRANSIENT);
  aliased.c = hand.buffer("c", BUFFER_ROLE_TRANSIENT);
  uint32_t out1 = hand.buffer("out1", BUFFER_ROLE_OUTPUT);
  uint32_t out2 = hand.buffer("out2", BUFFER_ROLE_OUTPUT);
  hand.dispatch(unary, {aliased.a, x});
  hand.dispatch(unary, {aliased.b, x});
  hand.barrier();
  hand.dispatch(unary, {out1, aliased.a});
  hand.dispatch(unary, {aliased.c, x}); // no barrier needed before planning
  hand.barrier();
  hand.dispatch(binary, {out2, aliased.b, aliased.c});
  return aliased;
}

TEST(BarrierPlacement, SeparatesWriteAfterReadOfAliasedBuffers) {
  AliasedPlan aliased = aliasedPlan();
  plan::MemorySummary summary = planAndCheck(aliased.hand.plan());
  const plan::Plan &plan = aliased.hand.plan();
  EXPECT_EQ(plan.buffers(aliased.c).arena_offset(), plan.buffers(aliased.a).arena_offset());
  EXPECT_EQ(summary.arena_bytes(), 512u);
  // a, b, barrier, out1 = f(a), barrier (only because c takes a's bytes), c, barrier, g.
  ASSERT_EQ(plan.step().commands_size(), 8);
  EXPECT_TRUE(plan.step().commands(2).has_barrier());
  EXPECT_EQ(plan.step().commands(3).dispatch().buffers(1), aliased.a);
  EXPECT_TRUE(plan.step().commands(4).has_barrier());
  EXPECT_EQ(plan.step().commands(5).dispatch().buffers(0), aliased.c);
  EXPECT_TRUE(plan.step().commands(6).has_barrier());
}

TEST(BarrierPlacement, DropsBarriersThatNothingNeeds) {
  HandPlan hand;
  uint32_t unary = hand.kernel("f", 2);
  uint32_t x = hand.buffer("x", BUFFER_ROLE_INPUT);
  uint32_t out1 = hand.buffer("out1", BUFFER_ROLE_OUTPUT);
  uint32_t out2 = hand.buffer("out2", BUFFER_ROLE_OUTPUT);
  hand.dispatch(unary, {out1, x});
  hand.barrier();
  hand.dispatch(unary, {out2, x});
  planAndCheck(hand.plan());
  EXPECT_EQ(countCommands(hand.plan().step(), plan::Command::kBarrier), 0);
}

TEST(PlanMemory, RejectsBadAlignmentAndSecondPlanning) {
  AliasedPlan aliased = aliasedPlan();
  MemoryPlanOptions options;
  options.alignment = 48;
  EXPECT_THAT(planMemory(aliased.hand.plan(), options).status().message(),
              HasSubstr("alignment 48 is not a power of two"));
  ASSERT_TRUE(planMemory(aliased.hand.plan()).ok());
  EXPECT_THAT(planMemory(aliased.hand.plan()).status().message(), HasSubstr("already in an arena"));
}

TEST(PlanMemory, IsDeterministic) {
  AliasedPlan first = aliasedPlan(), second = aliasedPlan();
  ASSERT_TRUE(planMemory(first.hand.plan()).ok());
  ASSERT_TRUE(planMemory(second.hand.plan()).ok());
  EXPECT_EQ(first.hand.plan().SerializeAsString(), second.hand.plan().SerializeAsString());
}

TEST(PlanChecker, CatchesOverlappingLiveBuffers) {
  AliasedPlan aliased = aliasedPlan();
  ASSERT_TRUE(planMemory(aliased.hand.plan()).ok());
  plan::Plan &plan = aliased.hand.plan();
  plan.mutable_buffers(aliased.c)->set_arena_offset(plan.buffers(aliased.b).arena_offset());
  // c = f(x) now overwrites b, which g reads afterwards.
  absl::Status status = plan::checkPlanMemory(plan);
  EXPECT_THAT(status.message(), HasSubstr("program 'train' command 7 reads buffer 2 ('b')"));
  EXPECT_THAT(status.message(), HasSubstr("last written by buffer 3 ('c') (clobbered)"));
}

TEST(PlanChecker, CatchesUnalignedOffset) {
  AliasedPlan aliased = aliasedPlan();
  ASSERT_TRUE(planMemory(aliased.hand.plan()).ok());
  aliased.hand.plan().mutable_buffers(aliased.b)->set_arena_offset(260);
  EXPECT_THAT(plan::checkPlanMemory(aliased.hand.plan()).message(),
              HasSubstr("buffer 2 ('b') is at arena offset 260, not a multiple of the "
                        "alignment 256"));
}

TEST(PlanChecker, CatchesMissingBarrier) {
  AliasedPlan aliased = aliasedPlan();
  ASSERT_TRUE(planMemory(aliased.hand.plan()).ok());
  plan::Plan &plan = aliased.hand.plan();
  plan.mutable_step()->mutable_commands()->DeleteSubrange(4, 1); // before c = f(x)
  absl::Status status = plan::checkPlanMemory(plan);
  EXPECT_THAT(status.message(),
              HasSubstr("program 'train' command 4 writes buffer 3 ('c') at arena bytes"));
  EXPECT_THAT(status.message(), HasSubstr("with no barrier between them"));
}

TEST(PlanChecker, CatchesReadOfClobberedMemory) {
  AliasedPlan aliased = aliasedPlan();
  ASSERT_TRUE(planMemory(aliased.hand.plan()).ok());
  plan::Plan &plan = aliased.hand.plan();
  // Move c = f(x) (command 5) before the read of a (command 3), with barriers around it.
  plan::Step &step = *plan.mutable_step();
  plan::Command write = step.commands(5);
  step.mutable_commands()->DeleteSubrange(4, 2);
  *step.mutable_commands()->Add() = plan::Command();
  for (int index = step.commands_size() - 1; index > 3; --index)
    step.mutable_commands()->SwapElements(index, index - 1);
  *step.mutable_commands(3) = write;
  step.mutable_commands()->Add()->mutable_barrier();
  for (int index = step.commands_size() - 1; index > 4; --index)
    step.mutable_commands()->SwapElements(index, index - 1);
  // barrier, c = f(x), barrier, out1 = f(a), ...
  absl::Status status = plan::checkPlanMemory(plan);
  EXPECT_THAT(status.message(), HasSubstr("reads buffer 1 ('a')"));
  EXPECT_THAT(status.message(), HasSubstr("last written by buffer 3 ('c') (clobbered)"));
}

TEST(PlanChecker, CatchesReadOfUnwrittenTransient) {
  HandPlan hand;
  uint32_t unary = hand.kernel("f", 2);
  uint32_t scratch = hand.buffer("scratch", BUFFER_ROLE_TRANSIENT);
  uint32_t out = hand.buffer("out", BUFFER_ROLE_OUTPUT);
  hand.dispatch(unary, {out, scratch});
  EXPECT_THAT(plan::checkPlanMemory(hand.plan()).message(),
              HasSubstr("was not written earlier in this run; transients are undefined"));
}

TEST(PlanChecker, CatchesBufferBeyondArena) {
  AliasedPlan aliased = aliasedPlan();
  ASSERT_TRUE(planMemory(aliased.hand.plan()).ok());
  aliased.hand.plan().mutable_memory()->set_arena_bytes(256);
  EXPECT_THAT(plan::checkPlanMemory(aliased.hand.plan()).message(),
              HasSubstr("beyond arena_bytes 256"));
}

TEST(KernelWrittenBindings, InPlacePairsOverrideTheConvention) {
  HandPlan hand;
  hand.kernel("update", 3, {{2, 1}});
  EXPECT_THAT(plan::kernelWrittenBindings(hand.plan().kernels(0)),
              ::testing::ElementsAre(true, false, true));
}

} // namespace
} // namespace kiln::memory_test
