//===- CompiledPlansTest.cpp - The planner on compiler-generated plans ----===//
//
// Plans and checks the sample MLPs (as samples/mlp builds them) and ~50 random
// graphs (seeded chains of elementwise ops, matmuls, reductions and broadcasts
// with random shapes, trained with SGD or Adam), each compiled by the real
// pipeline: validatePlan and checkPlanMemory must accept every planned plan.
//
//===----------------------------------------------------------------------===//

#include "../codegen/TestModules.h"

#include "kiln/Frontend.h"
#include "kiln/Memory/MemoryPlanner.h"
#include "kiln/runtime/PlanChecker.h"
#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/PlanValidation.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

namespace kiln::memory_test {
namespace {

/// Compiles a builder's training module the way `kiln compile` does (with @eval).
absl::StatusOr<plan::Plan> compileModule(mlir::ModuleOp module) {
  codegen_test::DiagnosticCollector diagnostics(*module.getContext());
  if (mlir::failed(codegen_test::runTrainingStepPipeline(module, /*extractEval=*/true)))
    return absl::InternalError("pipeline failed: " + diagnostics.text());
  codegen::CodegenOptions options;
  options.targets = {plan::TARGET_VULKAN}; // memory planning does not depend on the target
  options.planMemory = false;               // the test plans (and checks) it itself
  mlir::FailureOr<plan::Plan> compiled = codegen::compileToPlan(module, options);
  if (mlir::failed(compiled))
    return absl::InternalError("compileToPlan failed: " + diagnostics.text());
  return *std::move(compiled);
}

/// Plans `plan` and checks the result; returns the summary.
plan::MemorySummary planAndCheck(plan::Plan &plan, const std::string &label) {
  EXPECT_TRUE(plan::validatePlan(plan).ok()) << label << ": " << plan::validatePlan(plan);
  EXPECT_TRUE(plan::checkPlanMemory(plan).ok())
      << label << " before planning: " << plan::checkPlanMemory(plan);
  absl::StatusOr<plan::MemorySummary> summary = memory::planMemory(plan);
  EXPECT_TRUE(summary.ok()) << label << ": " << summary.status();
  EXPECT_TRUE(plan::validatePlan(plan).ok()) << label << ": " << plan::validatePlan(plan);
  EXPECT_TRUE(plan::checkPlanMemory(plan).ok()) << label << ": " << plan::checkPlanMemory(plan);
  if (!summary.ok())
    return {};
  EXPECT_LE(summary->peak_live_bytes(), summary->arena_bytes()) << label;
  return *summary;
}

absl::StatusOr<plan::Plan> compileMlp(const std::vector<int64_t> &widths, int64_t batch) {
  Builder builder("mlp", 0);
  Tensor images = builder.input("images", {batch, widths.front()});
  Tensor labels = builder.input("labels", {batch}, DType::kI32);
  Sequential mlp;
  for (size_t layer = 0; layer + 1 < widths.size(); ++layer) {
    if (layer > 0)
      mlp.add(Relu());
    mlp.add(Linear(widths[layer], widths[layer + 1]));
  }
  Tensor logits = mlp(images);
  Tensor loss = softmaxCrossEntropy(logits, labels);
  builder.output("logits", logits);
  auto module = builder.build(TrainingSpec{.loss = loss, .optimizer = Adam{}});
  if (!module.ok())
    return module.status();
  return compileModule(module->get());
}

void reportMlp(const std::vector<int64_t> &widths) {
  absl::StatusOr<plan::Plan> plan = compileMlp(widths, 128);
  ASSERT_TRUE(plan.ok()) << plan.status();
  int copiesBefore = 0;
  for (const plan::Command &command : plan->step().commands())
    copiesBefore += command.has_copy();
  plan::MemorySummary summary = planAndCheck(*plan, "mlp");
  std::printf(
      "[memory] mlp %s adam batch 128: arena %llu, peak live %llu, naive %llu, "
      "elided copies %u of %d, in-place reuses %u, arena/peak %.3f\n",
      [&] {
        std::string text;
        for (int64_t width : widths)
          text += (text.empty() ? "" : "-") + std::to_string(width);
        return text;
      }()
          .c_str(),
      static_cast<unsigned long long>(summary.arena_bytes()),
      static_cast<unsigned long long>(summary.peak_live_bytes()),
      static_cast<unsigned long long>(summary.naive_bytes()), summary.elided_copies(), copiesBefore,
      summary.in_place_reuses(),
      double(summary.arena_bytes()) / double(std::max<uint64_t>(summary.peak_live_bytes(), 1)));
  EXPECT_LE(summary.arena_bytes(), summary.naive_bytes());
  EXPECT_LE(double(summary.arena_bytes()), 1.1 * double(summary.peak_live_bytes()));
  // Left for `kiln inspect --memory` / `--arena-svg` by hand.
  std::string path = ::testing::TempDir() + "mlp-" + std::to_string(widths[1]) + "-planned.kplan";
  EXPECT_TRUE(plan::writePlanFile(*plan, path).ok());
}

TEST(CompiledPlans, Mlp784x128x10Adam) { reportMlp({784, 128, 10}); }

TEST(CompiledPlans, Mlp784x512x512x10Adam) { reportMlp({784, 512, 512, 10}); }

/// A random trainable graph: a chain over a [batch, width] activation.
absl::StatusOr<plan::Plan> compileRandomGraph(uint32_t seed) {
  std::mt19937 random(seed);
  auto pick = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  int64_t batch = pick(1, 9), width = pick(1, 40);
  Builder builder("random", seed);
  Tensor x = builder.input("x", {batch, width});
  std::vector<Tensor> values = {x};
  Tensor current = x;
  int steps = pick(2, 10);
  for (int step = 0; step < steps; ++step) {
    switch (pick(0, 6)) {
    case 0:
      current = relu(current);
      break;
    case 1:
      current = tanh(current);
      break;
    case 2: { // binary with an earlier value of the same shape, or a scalar
      std::vector<Tensor> same;
      for (const Tensor &value : values)
        if (value.shape() == current.shape())
          same.push_back(value);
      Tensor other = same[pick(0, static_cast<int>(same.size()) - 1)];
      current = pick(0, 1) ? add(current, other) : mul(current, other);
      break;
    }
    case 3: { // matmul with a new parameter
      int64_t next = pick(1, 40);
      Tensor weight = builder.parameter("w" + std::to_string(step), {current.dim(1), next},
                                        Init::uniform(-0.5, 0.5));
      current = matmul(current, weight);
      break;
    }
    case 4: { // bias broadcast along the batch
      Tensor bias =
          builder.parameter("b" + std::to_string(step), {current.dim(1)}, Init::uniform(-0.1, 0.1));
      current = add(current, broadcastInDim(bias, {1}, current.shape()));
      break;
    }
    case 5: { // row sums broadcast back
      Tensor sums = reduceSum(current, {1});
      current = sub(current, broadcastInDim(sums, {0}, current.shape()));
      break;
    }
    default:
      current = sigmoid(mul(current, 0.5f));
      break;
    }
    values.push_back(current);
  }
  // Make sure something is trainable.
  Tensor scale = builder.parameter("scale", {current.dim(1)}, Init::uniform(0.5, 1.5));
  current = mul(current, broadcastInDim(scale, {1}, current.shape()));
  Tensor loss = reduceMean(mul(current, current));
  builder.output("y", current);
  Optimizer optimizer = Sgd{};
  if (pick(0, 1))
    optimizer = Adam{};
  auto module = builder.build(TrainingSpec{.loss = loss, .optimizer = optimizer});
  if (!module.ok())
    return module.status();
  return compileModule(module->get());
}

TEST(CompiledPlans, RandomGraphsPlanAndCheck) {
  uint64_t arenaTotal = 0, peakTotal = 0, naiveTotal = 0;
  int planned = 0;
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    absl::StatusOr<plan::Plan> plan = compileRandomGraph(seed);
    ASSERT_TRUE(plan.ok()) << "seed " << seed << ": " << plan.status();
    plan::MemorySummary summary = planAndCheck(*plan, "random graph seed " + std::to_string(seed));
    arenaTotal += summary.arena_bytes();
    peakTotal += summary.peak_live_bytes();
    naiveTotal += summary.naive_bytes();
    ++planned;
    if (::testing::Test::HasFailure())
      break;
  }
  std::printf("[memory] %d random graphs: arena %llu, peak live %llu, naive %llu bytes\n", planned,
              static_cast<unsigned long long>(arenaTotal),
              static_cast<unsigned long long>(peakTotal),
              static_cast<unsigned long long>(naiveTotal));
  EXPECT_LE(double(arenaTotal), 1.1 * double(peakTotal));
}

} // namespace
} // namespace kiln::memory_test
