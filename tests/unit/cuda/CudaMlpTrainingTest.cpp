//===- CudaMlpTrainingTest.cpp - The MLP trained on CUDA vs the reference -===//
//
// The 784-128-10 MLP (as the Vulkan test trains it, and as kiln-sample-mlp
// --arch=784-128-10 builds it), after the training-step pipeline, trains for
// 30 steps at batch 32 on the CUDA runtime and on the reference device
// (float32) with the same data, with SGD with momentum and with Adam. The
// losses must agree to 1e-4 relative at every step, the loss must fall, the
// eval program must compute the loss the step then reports, and each step
// must be exactly one CUDA graph launch running every dispatch of the plan.
// Skipped, with the reason, without a driver or device.
//
//===----------------------------------------------------------------------===//

#include "CudaPlanSupport.h"
#include "CudaTestSupport.h"

#include "TestModules.h"

#include "kiln/runtime/ReferenceDevice.h"

#include "gtest/gtest.h"

#include <cmath>

namespace kiln::cuda_test {
namespace {

constexpr int kBatch = 32;
constexpr int kSteps = 30;

void expectThirtyStepsMatchTheReferenceDevice(const std::string &optimizer) {
  std::unique_ptr<mlir::MLIRContext> context = codegen_test::makeContext();
  codegen_test::DiagnosticCollector diagnostics(*context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      codegen_test::parseModule(codegen_test::mlpModuleText(kBatch, optimizer), *context);
  ASSERT_TRUE(module) << diagnostics.text();
  ASSERT_TRUE(mlir::succeeded(codegen_test::runTrainingStepPipeline(*module, true)))
      << diagnostics.text();

  auto reference = reference::ReferenceDevice::create(*module, reference::Precision::kFloat32);
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto session = createCudaSession(*module);
  ASSERT_TRUE(session.ok()) << session.status();

  std::vector<double> losses;
  for (int step = 0; step < kSteps; ++step) {
    auto inputs = codegen_test::mlpTrainingBatch(kBatch, step);
    auto evaluated = (*session)->run("eval", inputs);
    ASSERT_TRUE(evaluated.ok()) << evaluated.status();
    ASSERT_TRUE((*reference)->step(inputs).ok());
    absl::Status stepped = (*session)->step(inputs);
    ASSERT_TRUE(stepped.ok()) << stepped;
    auto expected = (*reference)->output("loss");
    auto actual = (*session)->output("loss", step);
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_TRUE(actual.ok()) << actual.status();
    double want = expected->at(0), got = actual->at(0);
    EXPECT_EQ(evaluated->at("loss").at(0), got) << "step " << step;
    EXPECT_LE(std::abs(got - want), 1e-4 * std::abs(want))
        << "step " << step << ": CUDA loss " << got << ", reference device " << want;
    losses.push_back(got);
  }
  EXPECT_LT(losses.back(), 0.5 * losses.front()) << "the MLP did not learn";

  cuda::SessionStats stats = (*session)->stats();
  int dispatches = 0;
  for (const plan::Command &command : (*session)->plan().step().commands())
    dispatches += command.has_dispatch();
  EXPECT_EQ(stats.steps, static_cast<uint64_t>(kSteps));
  EXPECT_EQ(stats.submitsPerStep, 1.0);
  EXPECT_EQ(stats.dispatchesPerStep, static_cast<double>(dispatches));
  EXPECT_EQ(stats.kernels, static_cast<uint64_t>((*session)->plan().kernels_size()));
  testing::Test::RecordProperty("device", stats.deviceName);
  testing::Test::RecordProperty("ptx_archs", stats.deviceMember("ptx_archs").value_or(""));
  testing::Test::RecordProperty("dispatches_per_step", dispatches);
  ASSERT_TRUE((*session)->synchronize().ok());
}

TEST(CudaMlp, SgdWithMomentumMatchesTheReferenceDeviceForThirtySteps) {
  KILN_REQUIRE_CUDA();
  expectThirtyStepsMatchTheReferenceDevice(
      R"({kind = "sgd", learning_rate = 2.0e-02 : f64, momentum = 9.0e-01 : f64})");
}

// Adam's epsilon is 1e-3 for the reason tests/unit/vulkan_ops/MlpTrainingTest.cpp gives.
TEST(CudaMlp, AdamMatchesTheReferenceDeviceForThirtySteps) {
  KILN_REQUIRE_CUDA();
  expectThirtyStepsMatchTheReferenceDevice(
      R"({kind = "adam", learning_rate = 1.0e-03 : f64, epsilon = 1.0e-03 : f64})");
}

} // namespace
} // namespace kiln::cuda_test
