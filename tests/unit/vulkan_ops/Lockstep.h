//===- Lockstep.h - One module trained on three devices at once --*- C++ -*-===//
//
// Fusion changes which kernel computes a value, not the arithmetic: the
// fused and the one-kernel-per-op Vulkan plans of one step and the reference
// device, stepped in lockstep on the same batches, must report the same loss
// to a tolerance at every step. Shared by the MLP and layer-norm training
// tests.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_VULKAN_OPS_LOCKSTEP_H
#define KILN_TESTS_UNIT_VULKAN_OPS_LOCKSTEP_H

#include "kiln/runtime/ReferenceDevice.h"
#include "kiln/runtime/vulkan/Session.h"

#include "gtest/gtest.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace kiln::vulkan_ops_test {

/// Steps `reference`, `fused` and `unfused` `steps` times on `batch(step)` and expects, at
/// every step, each pair of their "loss" outputs within `tolerance` of each other (relative).
/// Returns the fused session's losses (empty after a failed step).
inline std::vector<double> expectLossesInLockstep(
    reference::ReferenceDevice &reference, vulkan::Session &fused, vulkan::Session &unfused,
    int steps, const std::function<vulkan::Session::TensorMap(int)> &batch, double tolerance) {
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    vulkan::Session::TensorMap inputs = batch(step);
    absl::Status stepped = reference.step(inputs);
    EXPECT_TRUE(stepped.ok()) << "reference step " << step << ": " << stepped;
    absl::Status withFusion = fused.step(inputs);
    EXPECT_TRUE(withFusion.ok()) << "fused step " << step << ": " << withFusion;
    absl::Status without = unfused.step(inputs);
    EXPECT_TRUE(without.ok()) << "unfused step " << step << ": " << without;
    if (!stepped.ok() || !withFusion.ok() || !without.ok())
      return {};
    double want = reference.output("loss")->at(0);
    double gotFused = fused.output("loss")->at(0);
    double gotUnfused = unfused.output("loss")->at(0);
    EXPECT_LE(std::abs(gotFused - gotUnfused), tolerance * std::abs(gotUnfused))
        << "step " << step << ": fused " << gotFused << ", unfused " << gotUnfused;
    EXPECT_LE(std::abs(gotFused - want), tolerance * std::abs(want))
        << "step " << step << ": fused " << gotFused << ", reference " << want;
    EXPECT_LE(std::abs(gotUnfused - want), tolerance * std::abs(want))
        << "step " << step << ": unfused " << gotUnfused << ", reference " << want;
    losses.push_back(gotFused);
  }
  return losses;
}

/// Waits for `session` and expects its validation layers to have reported nothing.
inline void expectNoValidationMessages(vulkan::Session &session) {
  ASSERT_TRUE(session.synchronize().ok());
  std::vector<std::string> messages = session.validationMessages();
  EXPECT_TRUE(messages.empty()) << messages.size() << " validation messages, first: "
                                << (messages.empty() ? "" : messages.front());
}

} // namespace kiln::vulkan_ops_test

#endif // KILN_TESTS_UNIT_VULKAN_OPS_LOCKSTEP_H
