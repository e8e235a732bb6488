//===- PlannedMlpTest.cpp - A compiled, memory-planned MLP on Vulkan ------===//
//
// The 784-128-10 Adam MLP compiled by the real pipeline, run for a few steps
// with and without memory planning: the losses must be bit-identical (the
// kernels are the same; only where transients live and the barriers differ)
// and synchronization validation must stay silent.
//
//===----------------------------------------------------------------------===//

#include "../codegen/TestModules.h"
#include "VulkanTestSupport.h"

#include "kiln/Memory/MemoryPlanner.h"
#include "kiln/runtime/PlanChecker.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace kiln::vulkan {
namespace {

constexpr int kBatch = 16;

absl::StatusOr<plan::Plan> compileMlp() {
  auto context = codegen_test::makeContext();
  codegen_test::DiagnosticCollector diagnostics(*context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      codegen_test::parseModule(codegen_test::mlpModuleText(kBatch), *context);
  if (!module || mlir::failed(codegen_test::runTrainingStepPipeline(*module, true)))
    return absl::InternalError("pipeline failed: " + diagnostics.text());
  codegen::CodegenOptions options;
  options.targets = {plan::TARGET_VULKAN};
  options.planMemory = false; // planned below, to compare with the unplanned plan
  mlir::FailureOr<plan::Plan> compiled = codegen::compileToPlan(*module, options);
  if (mlir::failed(compiled))
    return absl::InternalError("compileToPlan failed: " + diagnostics.text());
  return *std::move(compiled);
}

/// The losses of 4 steps (bytes, for a bit-exact comparison).
std::vector<std::string> trainLosses(plan::Plan plan) {
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::create(std::move(plan), testing::validatedOptions());
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok())
    return {};
  std::mt19937 random(5);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::uniform_int_distribution<int32_t> label(0, 9);
  std::vector<std::string> losses;
  for (int step = 0; step < 4; ++step) {
    std::vector<float> images(kBatch * 784);
    for (float &value : images)
      value = pixel(random);
    std::vector<int32_t> labels(kBatch);
    for (int32_t &value : labels)
      value = label(random);
    HostTensor labelTensor(DType::kI32, {kBatch});
    std::memcpy(labelTensor.bytes().data(), labels.data(), labels.size() * 4);
    absl::Status status = (*session)->step(
        {{"images", HostTensor::f32({kBatch, 784}, images)}, {"labels", labelTensor}});
    EXPECT_TRUE(status.ok()) << status;
    absl::StatusOr<HostTensor> loss = (*session)->output("loss");
    EXPECT_TRUE(loss.ok()) << loss.status();
    if (loss.ok())
      losses.emplace_back(reinterpret_cast<const char *>(loss->bytes().data()),
                          loss->sizeInBytes());
  }
  testing::expectNoValidationMessages(**session);
  return losses;
}

TEST(PlannedMlp, SameLossesWithAndWithoutMemoryPlanning) {
  KILN_REQUIRE_VULKAN();
  absl::StatusOr<plan::Plan> plain = compileMlp();
  ASSERT_TRUE(plain.ok()) << plain.status();
  plan::Plan planned = *plain;
  absl::StatusOr<plan::MemorySummary> summary = memory::planMemory(planned);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(plan::checkPlanMemory(planned).ok()) << plan::checkPlanMemory(planned);
  EXPECT_GT(summary->elided_copies(), 0u);

  std::vector<std::string> expected = trainLosses(*plain);
  std::vector<std::string> actual = trainLosses(planned);
  ASSERT_EQ(expected.size(), 4u);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t step = 0; step < expected.size(); ++step) {
    float before = 0, after = 0;
    std::memcpy(&before, expected[step].data(), 4);
    std::memcpy(&after, actual[step].data(), 4);
    EXPECT_TRUE(expected[step] == actual[step])
        << "step " << step << ": loss " << after << " planned, " << before << " unplanned";
  }
}

} // namespace
} // namespace kiln::vulkan
