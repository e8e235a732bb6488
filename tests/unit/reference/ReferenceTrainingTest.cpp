//===- ReferenceTrainingTest.cpp - Whole training steps on the oracle ----===//
//
// A small classifier through the kiln-training-step pipeline (autodiff, the
// optimizer, simplification), run on the reference device: the loss falls,
// float32 and float64 runs agree, the learning rate input steers the update
// and Adam's step counter advances once per step.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/ReferenceDevice.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "gtest/gtest.h"

#include <cmath>

namespace kiln::reference {
namespace {

using Inputs = std::map<std::string, HostTensor, std::less<>>;

/// A 4-8-3 tanh classifier of 16 examples with the given optimizer dictionary.
std::string classifier(const std::string &optimizer) {
  return R"mlir(
module attributes {graph.optimizer = )mlir" +
         optimizer + R"mlir(} {
  graph.variable @fc1.weight trainable : tensor<8x4xf32> = #graph.init<uniform(-0.5, 0.5), seed = 1, stream = 0>
  graph.variable @fc1.bias trainable : tensor<8xf32> = #graph.init<uniform(-0.5, 0.5), seed = 1, stream = 1>
  graph.variable @fc2.weight trainable : tensor<3x8xf32> = #graph.init<uniform(-0.35, 0.35), seed = 1, stream = 2>
  graph.variable @fc2.bias trainable : tensor<3xf32> = #graph.init<uniform(-0.35, 0.35), seed = 1, stream = 3>
  func.func @step() {
    %x = graph.input "features" : tensor<16x4xf32>
    %y = graph.input "labels" : tensor<16xi32>
    %w1 = graph.read @fc1.weight : tensor<8x4xf32>
    %b1 = graph.read @fc1.bias : tensor<8xf32>
    %w2 = graph.read @fc2.weight : tensor<3x8xf32>
    %b2 = graph.read @fc2.bias : tensor<3xf32>
    %h = graph.matmul %x, %w1 transpose_rhs : tensor<16x4xf32>, tensor<8x4xf32> -> tensor<16x8xf32>
    %hb = graph.broadcast %b1 [1] : tensor<8xf32> to tensor<16x8xf32>
    %a = graph.add %h, %hb : tensor<16x8xf32>
    %t = graph.tanh %a : tensor<16x8xf32>
    %z = graph.matmul %t, %w2 transpose_rhs : tensor<16x8xf32>, tensor<3x8xf32> -> tensor<16x3xf32>
    %zb = graph.broadcast %b2 [1] : tensor<3xf32> to tensor<16x3xf32>
    %logits = graph.add %z, %zb : tensor<16x3xf32>
    %l = graph.softmax_cross_entropy %logits, %y : tensor<16x3xf32>, tensor<16xi32> -> tensor<16xf32>
    %loss = graph.reduce_mean %l [0] : tensor<16xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
)mlir";
}

/// Features from a fixed formula; the label is the largest of three linear scores.
Inputs batch() {
  HostTensor features(DType::kF32, {16, 4});
  HostTensor labels(DType::kI32, {16});
  for (int n = 0; n < 16; ++n) {
    float *row = features.f32().data() + 4 * n;
    for (int f = 0; f < 4; ++f)
      row[f] = std::sin(1.7f * n + 0.9f * f);
    float scores[3] = {row[0] - row[1], row[2] + row[3], -row[0] - row[3]};
    labels.i32()[n] = static_cast<int32_t>(std::max_element(scores, scores + 3) - scores);
  }
  return {{"features", features}, {"labels", labels}};
}

class ReferenceTrainingTest : public testing::Test {
protected:
  ReferenceTrainingTest() {
    mlir::DialectRegistry registry;
    registry.insert<graph::GraphDialect, mlir::func::FuncDialect>();
    context_.appendDialectRegistry(registry);
    context_.loadAllAvailableDialects();
  }

  /// Parses the classifier and compiles it into a training step.
  mlir::ModuleOp trainingStep(const std::string &optimizer) {
    modules_.push_back(mlir::parseSourceString<mlir::ModuleOp>(classifier(optimizer), &context_));
    EXPECT_TRUE(modules_.back());
    mlir::PassManager passes(&context_);
    addTrainingStepPipeline(passes);
    EXPECT_TRUE(mlir::succeeded(passes.run(*modules_.back())));
    return *modules_.back();
  }

  static std::vector<double> losses(ReferenceDevice &device, int steps, const Inputs &inputs) {
    std::vector<double> out;
    for (int s = 0; s < steps; ++s) {
      absl::Status status = device.step(inputs);
      EXPECT_TRUE(status.ok()) << status;
      out.push_back(device.output("loss")->at(0));
    }
    return out;
  }

  mlir::MLIRContext context_;
  std::vector<mlir::OwningOpRef<mlir::ModuleOp>> modules_;
};

constexpr const char *kSgd = R"({kind = "sgd", learning_rate = 5.0e-01 : f64})";

TEST_F(ReferenceTrainingTest, SgdLowersTheLoss) {
  auto device = ReferenceDevice::create(trainingStep(kSgd));
  ASSERT_TRUE(device.ok()) << device.status();
  std::vector<double> loss = losses(**device, 60, batch());
  EXPECT_NEAR(loss.front(), std::log(3.0), 0.3) << "an untrained classifier is near chance";
  EXPECT_LT(loss.back(), 0.5 * loss.front());
  EXPECT_EQ((*device)->stepsRun(), 60);
}

TEST_F(ReferenceTrainingTest, Float32AndFloat64RunsAgree) {
  mlir::ModuleOp module = trainingStep(kSgd);
  auto narrow = ReferenceDevice::create(module, Precision::kFloat32);
  auto wide = ReferenceDevice::create(module, Precision::kFloat64);
  ASSERT_TRUE(narrow.ok() && wide.ok());
  std::vector<double> narrowLoss = losses(**narrow, 20, batch());
  std::vector<double> wideLoss = losses(**wide, 20, batch());
  for (int s = 0; s < 20; ++s)
    EXPECT_NEAR(narrowLoss[s], wideLoss[s], 1e-5 * std::abs(wideLoss[s])) << "step " << s;
  EXPECT_NE(narrowLoss.back(), wideLoss.back()) << "float64 mode should not round to float";
}

TEST_F(ReferenceTrainingTest, LearningRateInputSteersTheUpdate) {
  auto device = ReferenceDevice::create(trainingStep(kSgd));
  ASSERT_TRUE(device.ok()) << device.status();
  absl::StatusOr<HostTensor> before = (*device)->variable("fc1.weight");
  Inputs frozen = batch();
  frozen["learning_rate"] = HostTensor::scalar(0.0f);
  ASSERT_TRUE((*device)->step(frozen).ok());
  absl::StatusOr<HostTensor> after = (*device)->variable("fc1.weight");
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(std::vector<float>(before->f32().begin(), before->f32().end()),
            std::vector<float>(after->f32().begin(), after->f32().end()));
  ASSERT_TRUE((*device)->step(batch()).ok());
  EXPECT_NE((*device)->variable("fc1.weight")->f32()[0], after->f32()[0]);
}

TEST_F(ReferenceTrainingTest, AdamAdvancesItsStepCounterAndLowersTheLoss) {
  auto device =
      ReferenceDevice::create(trainingStep(R"({kind = "adam", learning_rate = 5.0e-02 : f64})"));
  ASSERT_TRUE(device.ok()) << device.status();
  std::vector<double> loss = losses(**device, 40, batch());
  EXPECT_EQ((*device)->variable("optimizer.step")->at(0), 40.0);
  EXPECT_LT(loss.back(), 0.5 * loss.front());
}

} // namespace
} // namespace kiln::reference
