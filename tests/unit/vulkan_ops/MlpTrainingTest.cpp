//===- MlpTrainingTest.cpp - The MLP trained on Vulkan vs the reference ---===//
//
// The 784-128-10 MLP, after the training-step pipeline, trains for 30 steps
// at batch 32 as a fused and as a one-kernel-per-op plan on the Vulkan runtime
// (validation and synchronization validation on) and on the reference device
// (float32) in lockstep, with SGD with momentum and with Adam: fusion changes
// which kernel computes a value, not the arithmetic. (The MLP against the
// reference interpreter on every device, one submission per step, is the
// conformance suite's MlpConformanceTest.)
//
//===----------------------------------------------------------------------===//

#include "Lockstep.h"
#include "VulkanOpsSupport.h"

#include "TestModules.h"

#include "kiln/runtime/ReferenceDevice.h"

#include "gtest/gtest.h"

#include <cmath>

namespace kiln::vulkan_ops_test {
namespace {

constexpr int kBatch = 32;
constexpr int kSteps = 30;

/// Fused and one-kernel-per-op plans of the same step, and the reference device, in lockstep:
/// fusion changes which kernel computes a value, not the arithmetic, so the three agree to
/// 1e-5 relative at every step.
void expectFusedUnfusedAndReferenceAgree(const std::string &optimizer) {
  std::unique_ptr<mlir::MLIRContext> context = codegen_test::makeContext();
  codegen_test::DiagnosticCollector diagnostics(*context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      codegen_test::parseModule(codegen_test::mlpModuleText(kBatch, optimizer), *context);
  ASSERT_TRUE(module) << diagnostics.text();
  ASSERT_TRUE(mlir::succeeded(codegen_test::runTrainingStepPipeline(*module, false)))
      << diagnostics.text();
  auto reference = reference::ReferenceDevice::create(*module, reference::Precision::kFloat32);
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto fused = createValidatedSession(*module, /*fusion=*/true);
  auto unfused = createValidatedSession(*module, /*fusion=*/false);
  ASSERT_TRUE(fused.ok()) << fused.status();
  ASSERT_TRUE(unfused.ok()) << unfused.status();
  auto dispatches = [](const vulkan::Session &session) {
    return llvm::count_if(session.plan().step().commands(),
                          [](const plan::Command &command) { return command.has_dispatch(); });
  };
  EXPECT_LT(dispatches(**fused) * 2, dispatches(**unfused));
  expectLossesInLockstep(
      **reference, **fused, **unfused, kSteps,
      [](int step) { return codegen_test::mlpTrainingBatch(kBatch, step); }, 1e-5);
  expectNoValidationMessages(**fused);
  expectNoValidationMessages(**unfused);
}

// Smaller steps than the tests above: float32 rounding differences (a fused multiply-add on
// one device, a separate multiply and add on the other) grow with the learning rate over 30
// steps, and 1e-5 is tighter than the 1e-4 above.
TEST(VulkanMlp, FusedUnfusedAndReferenceAgreeWithSgd) {
  KILN_REQUIRE_VULKAN();
  expectFusedUnfusedAndReferenceAgree(
      R"({kind = "sgd", learning_rate = 5.0e-03 : f64, momentum = 9.0e-01 : f64})");
}

TEST(VulkanMlp, FusedUnfusedAndReferenceAgreeWithAdam) {
  KILN_REQUIRE_VULKAN();
  expectFusedUnfusedAndReferenceAgree(R"({kind = "adam", learning_rate = 5.0e-04 : f64})");
}

} // namespace
} // namespace kiln::vulkan_ops_test
