//===- TrainingConformanceTest.cpp - Batch norm and dropout on every device ===//
//
// A small classifier with batch norm and dropout (matmul, batchNorm, sigmoid,
// dropout, matmul, cross entropy), built with the frontend and compiled as
// kiln compile does, trains for five steps on each device and on the
// reference interpreter with the same data. Sigmoid is never zero, so the
// zeros of the dropout output are exactly the mask: they must be the same on
// every device at every step (Philox in integer arithmetic, keyed by the step
// counter), and change from step to step. Losses and the running statistics
// agree to float32 rounding, and the eval program (running statistics, no
// dropout) computes what the interpreter's eval computes.
//
//===----------------------------------------------------------------------===//

#include "DeviceCases.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/Compiler/Passes.h"
#include "kiln/Frontend.h"
#include "kiln/runtime/ReferenceDevice.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "gtest/gtest.h"

#include <cmath>

namespace kiln::conformance {
namespace {

constexpr int64_t kBatch = 16, kFeatures = 12, kHidden = 40, kClasses = 5;
constexpr int kSteps = 5;

using Inputs = std::map<std::string, HostTensor, std::less<>>;

mlir::OwningOpRef<mlir::ModuleOp> model(mlir::MLIRContext &context) {
  Builder b(context, "bn_dropout", /*seed=*/3);
  Tensor x = b.input("x", {kBatch, kFeatures});
  Tensor labels = b.input("labels", {kBatch}, DType::kI32);
  Tensor hidden;
  {
    Builder::NameScope scope(b, "fc1");
    hidden = matmul(x, b.parameter("weight", {kFeatures, kHidden}, Init::uniform(-0.5, 0.5)));
  }
  {
    Builder::NameScope scope(b, "bn1");
    hidden = batchNorm(hidden, b.parameter("weight", {kHidden}, Init::ones()),
                       b.parameter("bias", {kHidden}, Init::zeros()));
  }
  Tensor dropped = dropout(sigmoid(hidden), 0.3);
  b.output("dropped", dropped);
  Tensor logits;
  {
    Builder::NameScope scope(b, "fc2");
    logits = matmul(dropped, b.parameter("weight", {kHidden, kClasses}, Init::uniform(-0.3, 0.3)));
  }
  b.output("logits", logits);
  Sgd sgd;
  sgd.learningRate = 0.1;
  auto built = b.build(TrainingSpec{softmaxCrossEntropy(logits, labels), sgd});
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *std::move(built) : mlir::OwningOpRef<mlir::ModuleOp>();
}

Inputs batch(int step) {
  HostTensor x(DType::kF32, {kBatch, kFeatures});
  HostTensor labels(DType::kI32, {kBatch});
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.f32()[i] = std::sin(0.37f * static_cast<float>(i) + 1.3f * static_cast<float>(step));
  for (int64_t n = 0; n < kBatch; ++n)
    labels.i32()[n] = static_cast<int32_t>((n * 7 + step) % kClasses);
  return {{"x", x}, {"labels", labels}};
}

std::vector<float> floats(const HostTensor &tensor) {
  return {tensor.f32().begin(), tensor.f32().end()};
}

std::vector<bool> zeros(const HostTensor &tensor) {
  std::vector<bool> out;
  for (float v : tensor.f32())
    out.push_back(v == 0.0f);
  return out;
}

class TrainingConformanceTest : public ::testing::TestWithParam<DeviceCase> {};

TEST_P(TrainingConformanceTest, BatchNormAndDropoutMatchTheReferenceInterpreterBitForBitMasks) {
  KILN_REQUIRE_DEVICE(GetParam());
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = model(context);
  ASSERT_TRUE(module);
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::PassManager pm(&context);
  pm.addPass(createExtractEval());
  addTrainingStepPipeline(pm);
  ASSERT_TRUE(mlir::succeeded(pm.run(*module))) << diagnostics;
  // The interpreter runs @eval as a step of its own module.
  mlir::OwningOpRef<mlir::ModuleOp> evalModule = module->clone();
  evalModule->lookupSymbol<mlir::func::FuncOp>("step").erase();
  evalModule->lookupSymbol<mlir::func::FuncOp>("eval").setName("step");

  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(*module);
  ASSERT_TRUE(mlir::succeeded(plan)) << diagnostics;
  auto oracle = reference::ReferenceDevice::create(*module, reference::Precision::kFloat32);
  ASSERT_TRUE(oracle.ok()) << oracle.status();
  auto session = GetParam().create(*plan);
  ASSERT_TRUE(session.ok()) << session.status();

  std::vector<bool> previousMask;
  for (int step = 0; step < kSteps; ++step) {
    Inputs inputs = batch(step);
    ASSERT_TRUE((*oracle)->step(inputs).ok());
    ASSERT_TRUE((*session)->step(inputs).ok());
    auto want = (*oracle)->output("dropped");
    auto got = (*session)->output("dropped", step);
    ASSERT_TRUE(want.ok() && got.ok()) << want.status() << got.status();
    std::vector<bool> mask = zeros(*got);
    EXPECT_EQ(mask, zeros(*want)) << "step " << step << ": the dropout masks differ";
    EXPECT_NE(mask, previousMask) << "step " << step << " reused the previous mask";
    previousMask = mask;
    double wantLoss = (*oracle)->output("loss")->at(0);
    double gotLoss = (*session)->output("loss", step)->at(0);
    EXPECT_LE(std::abs(gotLoss - wantLoss), 1e-4 * std::abs(wantLoss)) << "step " << step;
  }
  for (const char *name : {"bn1.running_mean", "bn1.running_var", "fc1.weight"}) {
    auto want = (*oracle)->variable(name);
    auto got = (*session)->variable(name);
    ASSERT_TRUE(want.ok() && got.ok()) << name;
    std::vector<float> w = floats(*want), g = floats(*got);
    ASSERT_EQ(w.size(), g.size());
    for (size_t i = 0; i < w.size(); ++i)
      EXPECT_NEAR(g[i], w[i], 1e-4 * (1 + std::abs(w[i]))) << name << "[" << i << "]";
  }
  auto counter = (*session)->variable("step_counter");
  ASSERT_TRUE(counter.ok()) << counter.status();
  EXPECT_EQ(counter->at(0), kSteps);

  // Eval: the running statistics, and the identity for dropout (no zeros).
  auto evalOracle = reference::ReferenceDevice::create(*evalModule, reference::Precision::kFloat32);
  ASSERT_TRUE(evalOracle.ok()) << evalOracle.status();
  for (const std::string &name : (*evalOracle)->variableNames()) {
    auto value = (*session)->variable(name);
    ASSERT_TRUE(value.ok()) << name;
    ASSERT_TRUE((*evalOracle)->setVariable(name, *value).ok()) << name;
  }
  Inputs inputs = batch(kSteps);
  ASSERT_TRUE((*evalOracle)->step(inputs).ok());
  auto evaluated = (*session)->run("eval", inputs);
  ASSERT_TRUE(evaluated.ok()) << evaluated.status();
  std::vector<float> wantDropped = floats(*(*evalOracle)->output("dropped"));
  std::vector<float> gotDropped = floats(evaluated->at("dropped"));
  ASSERT_EQ(gotDropped.size(), wantDropped.size());
  for (size_t i = 0; i < wantDropped.size(); ++i) {
    EXPECT_NE(gotDropped[i], 0.0f) << "eval dropped element " << i;
    EXPECT_NEAR(gotDropped[i], wantDropped[i], 1e-5) << "eval element " << i;
  }
  ASSERT_TRUE((*session)->synchronize().ok());
  expectNoValidationMessages(GetParam(), **session);
}

INSTANTIATE_TEST_SUITE_P(Devices, TrainingConformanceTest, ::testing::ValuesIn(allDevices()),
                         [](const ::testing::TestParamInfo<DeviceCase> &info) {
                           return info.param.name;
                         });

} // namespace
} // namespace kiln::conformance
