//===- GptConformanceTest.cpp - The GPT on every device vs the composite --===//
//
// samples/gpt's GPT (KilnGptModel) at a small size, with AdamW, its decay
// marks and gradient clipping, compiled as kiln compile does: kiln-form-
// attention turns its causal attention into graph.attention, so each device
// runs the fused attention kernels forward and backward. It trains for ten
// steps on each device, and the reference interpreter trains the same model
// compiled without kiln-form-attention (the composite: scores, mask, softmax
// and the product written out as ops) on the same batches. Each step's loss and
// gradient norm, and every parameter after the last step, must agree: the
// fused kind against the composite, on every device.
//
//===----------------------------------------------------------------------===//

#include "DeviceCases.h"

#include "GptModel.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/ReferenceDevice.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "gtest/gtest.h"

#include <cmath>
#include <memory>
#include <optional>

namespace kiln::conformance {
namespace {

constexpr int kSteps = 10;
constexpr double kClip = 0.5;
const gpt::GptConfig kConfig{
    .layers = 1, .heads = 2, .width = 16, .context = 8, .vocab = 32, .batch = 2};

using Inputs = std::map<std::string, HostTensor, std::less<>>;

/// The training module, compiled with (`fused`) or without kiln-form-attention; null after
/// a test failure.
mlir::OwningOpRef<mlir::ModuleOp> compiledModule(mlir::MLIRContext &context, bool fused) {
  Builder builder(context, "gpt", /*seed=*/5);
  auto module =
      gpt::buildModule(builder, kConfig,
                       {.optimizer = AdamW{.learningRate = 1e-2, .beta2 = 0.99, .weightDecay = 0.1},
                        .clipGradNorm = kClip,
                        .generate = false});
  EXPECT_TRUE(module.ok()) << module.status();
  if (!module.ok())
    return {};
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::PassManager pm(&context);
  pm.addPass(createExtractEval());
  if (fused) {
    addTrainingStepPipeline(pm);
  } else {
    pm.addPass(createAutodiff());
    pm.addPass(createAppendOptimizer());
    addSimplifyPasses(pm);
  }
  EXPECT_TRUE(mlir::succeeded(pm.run(**module))) << diagnostics;
  int attentions = 0;
  (*module)->lookupSymbol<mlir::func::FuncOp>("step").walk(
      [&](graph::AttentionOp) { ++attentions; });
  EXPECT_EQ(attentions, fused ? kConfig.layers : 0)
      << (fused ? "kiln-form-attention left the composite" : "the composite was fused");
  return std::move(*module);
}

/// Step `step`'s batch: windows of a walk over the vocabulary that mostly steps by one.
Inputs batch(int step) {
  HostTensor tokens(DType::kI32, {kConfig.batch, kConfig.context});
  HostTensor targets(DType::kI32, {kConfig.batch, kConfig.context});
  for (int64_t row = 0; row < kConfig.batch; ++row) {
    int32_t token = static_cast<int32_t>((row * 7 + step * 3) % kConfig.vocab);
    for (int64_t t = 0; t < kConfig.context; ++t) {
      tokens.i32()[row * kConfig.context + t] = token;
      token = static_cast<int32_t>((token + 1 + (t % 3 == 2 ? step : 0)) % kConfig.vocab);
      targets.i32()[row * kConfig.context + t] = token;
    }
  }
  return {{"tokens", tokens}, {"targets", targets}};
}

bool near(double got, double want, double tolerance) {
  return std::abs(got - want) <= tolerance * (1 + std::abs(want));
}

class GptConformanceTest : public ::testing::TestWithParam<DeviceCase> {
protected:
  /// The fused module's plan, compiled once for all devices.
  static const plan::Plan *fusedPlan() {
    static std::optional<plan::Plan> compiled = [] {
      mlir::MLIRContext context;
      mlir::OwningOpRef<mlir::ModuleOp> module = compiledModule(context, /*fused=*/true);
      std::optional<plan::Plan> result;
      if (module) {
        mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(*module);
        EXPECT_TRUE(mlir::succeeded(plan)) << "the fused GPT does not compile to a plan";
        if (mlir::succeeded(plan))
          result = std::move(*plan);
      }
      return result;
    }();
    return compiled ? &*compiled : nullptr;
  }
};

TEST_P(GptConformanceTest, FusedAttentionTrainsLikeTheCompositeOnTheReference) {
  KILN_REQUIRE_DEVICE(GetParam());
  const plan::Plan *plan = fusedPlan();
  ASSERT_NE(plan, nullptr);
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> composite = compiledModule(context, /*fused=*/false);
  ASSERT_TRUE(composite);
  auto oracle = reference::ReferenceDevice::create(*composite, reference::Precision::kFloat32);
  ASSERT_TRUE(oracle.ok()) << oracle.status();
  auto session = GetParam().create(*plan);
  ASSERT_TRUE(session.ok()) << session.status();

  // Both start from the same values: the Builder's seeded initializers.
  for (const std::string &name : gpt::parameterNames(kConfig)) {
    auto want = (*oracle)->variable(name);
    auto got = (*session)->variable(name);
    ASSERT_TRUE(want.ok() && got.ok()) << name;
    ASSERT_EQ(got->f32().size(), want->f32().size()) << name;
    for (size_t i = 0; i < want->f32().size(); ++i)
      ASSERT_EQ(got->f32()[i], want->f32()[i]) << "initial " << name << "[" << i << "]";
  }

  int clipped = 0;
  for (int step = 0; step < kSteps; ++step) {
    Inputs inputs = batch(step);
    ASSERT_TRUE((*oracle)->step(inputs).ok()) << "step " << step;
    absl::Status ran = (*session)->step(inputs);
    ASSERT_TRUE(ran.ok()) << "step " << step << ": " << ran;
    for (const char *output : {"loss", "grad_norm"}) {
      auto want = (*oracle)->output(output);
      auto got = (*session)->output(output, step);
      ASSERT_TRUE(want.ok() && got.ok()) << output << ": " << want.status() << got.status();
      EXPECT_TRUE(near(got->at(0), want->at(0), 1e-4))
          << "step " << step << " " << output << ": device " << got->at(0) << ", composite "
          << want->at(0);
    }
    clipped += (*oracle)->output("grad_norm")->at(0) > kClip;
  }
  // Clipping must act for the test to check it.
  EXPECT_GT(clipped, 0);

  for (const std::string &name : gpt::parameterNames(kConfig)) {
    auto want = (*oracle)->variable(name);
    auto got = (*session)->variable(name);
    ASSERT_TRUE(want.ok() && got.ok()) << name;
    for (size_t i = 0; i < want->f32().size(); ++i)
      EXPECT_TRUE(near(got->f32()[i], want->f32()[i], 1e-4))
          << name << "[" << i << "] after " << kSteps << " steps: device " << got->f32()[i]
          << ", composite " << want->f32()[i];
  }
  ASSERT_TRUE((*session)->synchronize().ok());
  expectNoValidationMessages(GetParam(), **session);
}

INSTANTIATE_TEST_SUITE_P(Devices, GptConformanceTest, ::testing::ValuesIn(allDevices()),
                         [](const ::testing::TestParamInfo<DeviceCase> &info) {
                           return info.param.name;
                         });

} // namespace
} // namespace kiln::conformance
