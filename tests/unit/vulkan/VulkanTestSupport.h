//===- VulkanTestSupport.h - Shared pieces of the Vulkan tests --*- C++ -*-===//
//
// Skipping when no Vulkan device exists, loading the build-time SPIR-V test
// kernels, and the hand-built plans the session tests run.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_VULKAN_VULKANTESTSUPPORT_H
#define KILN_TESTS_UNIT_VULKAN_VULKANTESTSUPPORT_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/vulkan/Session.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

namespace kiln::vulkan::testing {

/// Empty if a Vulkan device is present, else why not. Also (once) points XDG_RUNTIME_DIR at a
/// temporary folder so the loader does not warn, and turns on submit-time synchronization
/// validation (VK_LAYER_ENABLES, unless already set) for the sessions the tests create.
const std::string &vulkanUnavailableReason();

/// Skips the current test when no Vulkan device exists.
#define KILN_REQUIRE_VULKAN()                                                                      \
  do {                                                                                             \
    if (const std::string &reason = ::kiln::vulkan::testing::vulkanUnavailableReason();            \
        !reason.empty())                                                                           \
      GTEST_SKIP() << "no Vulkan device: " << reason;                                              \
  } while (false)

/// The SPIR-V bytes of test kernel `name` ("add", "scale") from the build directory.
std::string loadKernel(const std::string &name);

/// Options for tests: validation and synchronization validation on.
SessionOptions validatedOptions();

/// Fails the current test listing every validation message the session recorded.
void expectNoValidationMessages(const Session &session);

/// Buffer indices of makeAccumulatePlan().
enum AccumulateBuffer { kA, kB, kSum, kAccumulator, kNext, kOut };
/// Command index of the barrier between the two add dispatches.
inline constexpr int kBarrierAfterFirstAdd = 1;

/// Over f32[n]: sum = a + b; out = 0.5 * (sum + acc); acc = out. Inputs a (required) and b
/// (default 10 + i), outputs "sum" and "out", variable "acc" ~ U[-1, 1) (seed 7, stream 3).
/// Commands: dispatch add, barrier, dispatch add, barrier, dispatch scale, barrier, copy.
plan::Plan makeAccumulatePlan(int64_t n);

/// Buffer indices makeAccumulatePlanWithPrograms() adds.
enum ProgramsBuffer { kEvalSum = kOut + 1, kEvalOut, kProbeTwice };
/// Command index of the barrier in the "eval" program.
inline constexpr int kEvalBarrier = 1;

/// makeAccumulatePlan with explicit lists on the step ("train": inputs a, b; outputs sum, out)
/// and two programs over the same variable: "eval" reads input a (shared with the step) and
/// writes its own outputs "sum" = a + acc and "out" = 0.5 * sum (dispatch add, barrier,
/// dispatch scale); "probe" has no inputs and writes "twice" = 2 * acc.
plan::Plan makeAccumulatePlanWithPrograms(int64_t n);

/// The default value of input b in makeAccumulatePlan.
std::vector<float> defaultB(int64_t n);

} // namespace kiln::vulkan::testing

#endif // KILN_TESTS_UNIT_VULKAN_VULKANTESTSUPPORT_H
